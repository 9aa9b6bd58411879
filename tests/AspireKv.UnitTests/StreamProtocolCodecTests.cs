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

    [Fact]
    public void An_entry_wrapped_as_an_AMQP_1_0_data_section_unwraps_to_the_same_bytes()
    {
        var body = Encoding.UTF8.GetBytes("a log entry");

        var message = AmqpMessage.Wrap(body);

        Assert.Equal(AmqpMessage.Overhead + body.Length, message.Length);
        Assert.Equal([0x00, 0x53, 0x75, 0xb0], message[..4]);
        Assert.True(AmqpMessage.TryUnwrap(message, out var unwrapped));
        Assert.Equal(body, unwrapped.ToArray());
    }

    [Fact]
    public void A_message_with_other_sections_and_several_data_sections_unwraps_to_its_data_joined()
    {
        // As RabbitMQ keeps an AMQP 0.9.1 publish: message annotations (map8), properties (list8),
        // application properties (map32), then the body in data sections (vbin8 and vbin32).
        byte[] message =
        [
            0x00, 0x53, 0x72, 0xc1, 0x03, 0x02, 0xa1, 0x00,
            0x00, 0x53, 0x73, 0xc0, 0x02, 0x01, 0x40,
            0x00, 0x53, 0x74, 0xd1, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x53, 0x75, 0xa0, 0x02, (byte)'a', (byte)'b',
            0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x75, 0xb0, 0x00, 0x00, 0x00, 0x01, (byte)'c',
        ];

        Assert.True(AmqpMessage.TryUnwrap(message, out var body));
        Assert.Equal("abc", Encoding.UTF8.GetString(body.Span));
    }

    [Theory]
    [InlineData(new byte[] { 0xff, 0x00, 0x13 })] // not a described section
    [InlineData(new byte[] { 0x00, 0x53, 0x75, 0xb0, 0x00, 0x00, 0x00, 0x09, 0x01 })] // a length past the end
    [InlineData(new byte[] { 0x00, 0x53, 0x73, 0x45 })] // no data section at all
    [InlineData(new byte[] { 0x00, 0x53, 0x75, 0xa1, 0x01, 0x41 })] // data that is a string, not a binary
    [InlineData(new byte[] { 0x00, 0x53, 0x77, 0x71, 0x00, 0x00, 0x00, 0x01 })] // an amqp-value of a type not read
    public void A_message_that_is_not_AMQP_1_0_with_a_data_section_does_not_unwrap(byte[] message)
    {
        Assert.False(AmqpMessage.TryUnwrap(message, out _));
    }
}
