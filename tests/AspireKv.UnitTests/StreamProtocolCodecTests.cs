using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using AspireKv.Streams;

namespace AspireKv.UnitTests;

/// <summary>The stream protocol's frames and osiris chunks, written and read without a broker; what a broker could send wrong is refused with a StreamProtocolException.</summary>
public sealed class StreamProtocolCodecTests
{
    [Fact]
    public void A_frame_written_reads_back_field_by_field_after_its_size()
    {
        var buffer = new FrameBuffer(8);
        buffer.Begin(StreamCommand.DeclarePublisher).UInt32(7).UInt8(3).String("publisher").String(null).Bytes([1, 2, 3]).Map(new Dictionary<string, string> { ["k"] = "v" });
        buffer.EndFrame();
        buffer.Begin(StreamCommand.Heartbeat);
        buffer.EndFrame();

        var bytes = buffer.Written.ToArray();
        var size = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes);
        var reader = new FrameReader(bytes.AsSpan(4, size));
        Assert.Equal(StreamCommand.DeclarePublisher, reader.UInt16());
        Assert.Equal(1, reader.UInt16());
        Assert.Equal(7u, reader.UInt32());
        Assert.Equal(3, reader.UInt8());
        Assert.Equal("publisher", reader.String());
        Assert.Null(reader.String());
        Assert.Equal([1, 2, 3], reader.Bytes().ToArray());
        Assert.Equal("v", reader.Map()["k"]);
        Assert.Equal(0, reader.Remaining);

        // The second frame follows the first: its size, then key and version alone.
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4 + size)));
        Assert.Equal(StreamCommand.Heartbeat, BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(8 + size)));
    }

    [Fact]
    public void A_short_frame_or_a_length_past_its_end_is_a_protocol_error_not_a_crash()
    {
        Assert.Throws<StreamProtocolException>(() => new FrameReader([0, 1]).UInt32());
        Assert.Throws<StreamProtocolException>(() => new FrameReader([0, 9, (byte)'a']).String());
        Assert.Throws<StreamProtocolException>(() => new FrameReader([0x80, 0, (byte)'a']).String());
        Assert.Throws<StreamProtocolException>(() => new FrameReader([0, 0, 0, 5, 1]).Bytes());
        Assert.Throws<StreamProtocolException>(() => new FrameReader([0x7F, 0xFF, 0xFF, 0xFF]).Count(8));
        Assert.Throws<StreamProtocolException>(() => new FrameReader([0xFF, 0xFF, 0xFF, 0xFE]).Count(1));
    }

    [Fact]
    public void A_chunk_gives_each_record_with_its_offset_from_simple_entries_and_an_uncompressed_sub_batch()
    {
        var chunk = Chunk(firstOffset: 40, type: 0, records: 4, Simple("a"), Simple("bb"), SubBatch("c", "dd"));

        var parsed = StreamChunk.Parse(chunk);

        Assert.Equal(40, parsed.FirstOffset);
        Assert.Equal(0, parsed.Type);
        Assert.Equal(["a", "bb", "c", "dd"], parsed.Records.Select(r => Encoding.UTF8.GetString(r.Span)));
    }

    [Fact]
    public void A_tracking_chunk_has_no_records_for_a_reader()
    {
        var parsed = StreamChunk.Parse(Chunk(firstOffset: 9, type: 1, records: 1, Simple("tracking")));

        Assert.Equal(1, parsed.Type);
        Assert.Empty(parsed.Records);
    }

    [Fact]
    public void A_chunk_that_is_short_corrupt_or_miscounted_is_refused_with_a_reason()
    {
        var good = Chunk(firstOffset: 1, type: 0, records: 2, Simple("a"), Simple("b"));

        Assert.Contains("shorter than", Assert.Throws<StreamProtocolException>(() => StreamChunk.Parse(good.AsMemory(0, 20))).Message);

        var badMagic = (byte[])good.Clone();
        badMagic[0] = 0x10;
        Assert.Contains("magic", Assert.Throws<StreamProtocolException>(() => StreamChunk.Parse(badMagic)).Message);

        var badCrc = (byte[])good.Clone();
        badCrc[^1] ^= 0xFF;
        Assert.Contains("CRC", Assert.Throws<StreamProtocolException>(() => StreamChunk.Parse(badCrc)).Message);

        var truncated = good.AsMemory(0, good.Length - 1);
        Assert.Throws<StreamProtocolException>(() => StreamChunk.Parse(truncated));

        var miscounted = Chunk(firstOffset: 1, type: 0, records: 5, Simple("a"), Simple("b"));
        Assert.Contains("5 records", Assert.Throws<StreamProtocolException>(() => StreamChunk.Parse(miscounted)).Message);

        var overlong = Chunk(firstOffset: 1, type: 0, records: 1, [0x00, 0x00, 0x10, 0x00, (byte)'x']);
        Assert.Contains("runs past", Assert.Throws<StreamProtocolException>(() => StreamChunk.Parse(overlong)).Message);
    }

    [Fact]
    public void Metadata_names_each_streams_leader_and_replicas_by_host_and_port_and_no_leader_as_null()
    {
        var buffer = new FrameBuffer();
        buffer.Begin(0).Int32(2).UInt16(0).String("127.0.0.1").UInt32(5552).UInt16(1).String("127.0.0.1").UInt32(5553)
            .Int32(2)
            .String("aspirekv.log").UInt16(1).UInt16(1).Int32(2).UInt16(0).UInt16(1)
            .String("gone").UInt16(2).UInt16(0xFFFF).Int32(0);
        buffer.EndFrame();

        var metadata = StreamConnection.ParseMetadata(buffer.Written.Span[8..]);

        Assert.Equal("127.0.0.1:5553", metadata[0].Leader);
        Assert.Equal(["127.0.0.1:5552", "127.0.0.1:5553"], metadata[0].Replicas);
        Assert.Equal(StreamResponseCode.StreamDoesNotExist, metadata[1].Code);
        Assert.Null(metadata[1].Leader);
    }

    [Theory]
    [InlineData("broker:0")]
    [InlineData("broker:65536")]
    [InlineData("broker:x")]
    public void A_stream_endpoint_with_a_bad_port_is_refused_with_what_is_wrong(string endpoint) =>
        Assert.Contains("port", Assert.Throws<FormatException>(() => StreamConnectionOptions.Parse(endpoint)).Message);

    [Fact]
    public void A_stream_endpoint_without_a_port_takes_the_protocols_default()
    {
        Assert.Equal(5552, StreamConnectionOptions.Parse("broker").Port);
        Assert.Equal("broker:5553", StreamConnectionOptions.Parse("broker:5553").Endpoint);
    }

    private static byte[] Simple(string text)
    {
        var data = Encoding.UTF8.GetBytes(text);
        var entry = new byte[4 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(entry, (uint)data.Length);
        data.CopyTo(entry, 4);
        return entry;
    }

    private static byte[] SubBatch(params string[] texts)
    {
        var inner = texts.SelectMany(Simple).ToArray();
        var entry = new byte[11 + inner.Length];
        entry[0] = 0x80;
        BinaryPrimitives.WriteUInt16BigEndian(entry.AsSpan(1), (ushort)texts.Length);
        BinaryPrimitives.WriteUInt32BigEndian(entry.AsSpan(3), (uint)inner.Length);
        BinaryPrimitives.WriteUInt32BigEndian(entry.AsSpan(7), (uint)inner.Length);
        inner.CopyTo(entry, 11);
        return entry;
    }

    private static byte[] Chunk(long firstOffset, byte type, uint records, params byte[][] entries)
    {
        var data = entries.SelectMany(e => e).ToArray();
        var chunk = new byte[StreamChunk.HeaderSize + data.Length];
        chunk[0] = 0x51;
        chunk[1] = type;
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)entries.Length);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4), records);
        BinaryPrimitives.WriteInt64BigEndian(chunk.AsSpan(8), 1_700_000_000_000);
        BinaryPrimitives.WriteUInt64BigEndian(chunk.AsSpan(16), 1);
        BinaryPrimitives.WriteUInt64BigEndian(chunk.AsSpan(24), (ulong)firstOffset);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(32), Crc32.HashToUInt32(data));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(36), (uint)data.Length);
        data.CopyTo(chunk, StreamChunk.HeaderSize);
        return chunk;
    }
}
