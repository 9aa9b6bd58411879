using System.Buffers;
using AspireKv.Node.StateMachine;

namespace AspireKv.Node.Snapshots;

/// <summary>
/// Writes keys as length-delimited <c>SnapshotKey</c> messages, the bytes the generated code
/// writes, through one reused buffer. The generated writer needs two ByteString wrappers per key:
/// for a million keys, two million short-lived objects per snapshot, and the collections they
/// cause pause the calls the node serves meanwhile.
/// </summary>
internal sealed class SnapshotKeyWriter(Stream output)
{
    private const int KeyField = 1, ValueField = 2, CreateRevisionField = 3, ModRevisionField = 4, VersionField = 5, LeaseField = 6;
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _used;

    public void Write(in KeyView view)
    {
        var size = BytesSize(KeyField, view.Key.Length) + BytesSize(ValueField, view.Value.Length)
            + Int64Size(CreateRevisionField, view.CreateRevision) + Int64Size(ModRevisionField, view.ModRevision)
            + Int64Size(VersionField, view.Version) + Int64Size(LeaseField, view.Lease);
        var needed = VarintSize((ulong)size) + size;
        if (_used + needed > _buffer.Length)
        {
            Flush();
        }

        if (needed <= _buffer.Length)
        {
            _used += Encode(view, size, _buffer.AsSpan(_used));
            return;
        }

        // A value larger than the buffer: encoded on its own.
        var large = ArrayPool<byte>.Shared.Rent(needed);
        try
        {
            output.Write(large, 0, Encode(view, size, large));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(large);
        }
    }

    /// <summary>Writes what is buffered to the stream.</summary>
    public void Flush()
    {
        output.Write(_buffer, 0, _used);
        _used = 0;
    }

    private static int Encode(in KeyView view, int size, Span<byte> into)
    {
        var at = WriteVarint(into, 0, (ulong)size);
        at = WriteBytes(into, at, KeyField, view.Key.Span);
        at = WriteBytes(into, at, ValueField, view.Value.Span);
        at = WriteInt64(into, at, CreateRevisionField, view.CreateRevision);
        at = WriteInt64(into, at, ModRevisionField, view.ModRevision);
        at = WriteInt64(into, at, VersionField, view.Version);
        return WriteInt64(into, at, LeaseField, view.Lease);
    }

    // proto3: a field that holds its default (empty, zero) is not written.
    private static int BytesSize(int field, int length) => length == 0 ? 0 : VarintSize(Tag(field, 2)) + VarintSize((ulong)length) + length;

    private static int Int64Size(int field, long value) => value == 0 ? 0 : VarintSize(Tag(field, 0)) + VarintSize((ulong)value);

    private static int WriteBytes(Span<byte> into, int at, int field, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return at;
        }

        at = WriteVarint(into, WriteVarint(into, at, Tag(field, 2)), (ulong)bytes.Length);
        bytes.CopyTo(into[at..]);
        return at + bytes.Length;
    }

    // An int64 is written as the varint of its two's complement, ten bytes when negative.
    private static int WriteInt64(Span<byte> into, int at, int field, long value) =>
        value == 0 ? at : WriteVarint(into, WriteVarint(into, at, Tag(field, 0)), (ulong)value);

    private static ulong Tag(int field, int wireType) => (ulong)((field << 3) | wireType);

    private static int VarintSize(ulong value) => (64 - System.Numerics.BitOperations.LeadingZeroCount(value | 1) + 6) / 7;

    private static int WriteVarint(Span<byte> into, int at, ulong value)
    {
        while (value >= 0x80)
        {
            into[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        into[at++] = (byte)value;
        return at;
    }
}
