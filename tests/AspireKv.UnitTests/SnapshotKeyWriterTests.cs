using AspireKv.Node.Snapshots;
using AspireKv.Node.Snapshots.Wire;
using AspireKv.Node.StateMachine;
using Google.Protobuf;

namespace AspireKv.UnitTests;

/// <summary>The hand-written key encoder writes exactly what the generated code writes.</summary>
public sealed class SnapshotKeyWriterTests
{
    public static TheoryData<int, int, long, long, long, long> Keys => new()
    {
        { 1, 100, 1, 1, 1, 0 },                                  // a fresh key
        { 300, 0, 7, 9_000_000_000, 2, 0 },                      // an empty value; a revision past 32 bits
        { 20, 5, 1, 2, 3, 0x7fff_ffff_ffff_ffff },               // a lease id of every bit
        { 3, 3, -1, -2, 0, -5 },                                 // negative numbers: ten-byte varints
        { 10, 70_000, 1, 1, 1, 1 },                              // larger than the writer's buffer
        { 127, 128, 127, 128, 16_383, 16_384 },                  // lengths and numbers at varint boundaries
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public void A_key_is_encoded_as_the_generated_SnapshotKey_writer_encodes_it(int keyLength, int valueLength, long create, long mod, long version, long lease)
    {
        var key = Enumerable.Range(0, keyLength).Select(i => (byte)('a' + (i % 26))).ToArray();
        var value = Enumerable.Range(0, valueLength).Select(i => (byte)i).ToArray();
        var view = new KeyView(key, value, create, mod, version, lease);
        var expected = new MemoryStream();
        var message = new SnapshotKey { Key = ByteString.CopyFrom(key), Value = ByteString.CopyFrom(value), CreateRevision = create, ModRevision = mod, Version = version, Lease = lease };

        // Twice, with a small key between, so that what is already buffered is kept in order.
        message.WriteDelimitedTo(expected);
        new SnapshotKey { Key = ByteString.CopyFromUtf8("k") }.WriteDelimitedTo(expected);
        message.WriteDelimitedTo(expected);
        var written = new MemoryStream();
        var writer = new SnapshotKeyWriter(written);
        writer.Write(view);
        writer.Write(new KeyView("k"u8.ToArray(), ReadOnlyMemory<byte>.Empty, 0, 0, 0, 0));
        writer.Write(view);
        writer.Flush();

        Assert.Equal(expected.ToArray(), written.ToArray());
    }
}
