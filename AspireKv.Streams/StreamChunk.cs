using System.Buffers.Binary;
using System.IO.Hashing;

namespace AspireKv.Streams;

/// <summary>
/// One chunk of a stream as a Deliver frame carries it: osiris's 48-byte header, then its entries.
/// A simple entry is one message; a sub-batch entry holds several (uncompressed ones are read,
/// compressed ones refused). Record <c>i</c> of a chunk is at offset <see cref="FirstOffset"/> + i.
/// </summary>
public sealed class StreamChunk
{
    /// <summary>The size of a chunk's header.</summary>
    public const int HeaderSize = 48;

    private StreamChunk(byte type, long timestamp, ulong epoch, long firstOffset, List<ReadOnlyMemory<byte>> records)
    {
        Type = type;
        Timestamp = timestamp;
        Epoch = epoch;
        FirstOffset = firstOffset;
        Records = records;
    }

    /// <summary>0 for messages; 1 and 2 for the broker's own tracking chunks (which carry no messages for a reader).</summary>
    public byte Type { get; }

    /// <summary>When the chunk was written, in milliseconds since the Unix epoch.</summary>
    public long Timestamp { get; }

    /// <summary>The stream leader's epoch that wrote it.</summary>
    public ulong Epoch { get; }

    public long FirstOffset { get; }

    /// <summary>The messages, in offset order (empty for a tracking chunk).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Records { get; }

    /// <summary>
    /// Parses a chunk; the records are slices of <paramref name="chunk"/>. A chunk that does not
    /// parse, or whose data does not match its CRC, throws <see cref="StreamProtocolException"/>.
    /// </summary>
    public static StreamChunk Parse(ReadOnlyMemory<byte> chunk)
    {
        var span = chunk.Span;
        if (span.Length < HeaderSize)
        {
            throw new StreamProtocolException($"a chunk is {span.Length} bytes, shorter than its {HeaderSize}-byte header");
        }

        var magicVersion = span[0];
        if (magicVersion >> 4 != 5)
        {
            throw new StreamProtocolException($"a chunk starts with 0x{magicVersion:x2}, not osiris's magic number 5");
        }

        var type = span[1];
        var entries = BinaryPrimitives.ReadUInt16BigEndian(span[2..]);
        var records = BinaryPrimitives.ReadUInt32BigEndian(span[4..]);
        var timestamp = BinaryPrimitives.ReadInt64BigEndian(span[8..]);
        var epoch = BinaryPrimitives.ReadUInt64BigEndian(span[16..]);
        var firstOffset = BinaryPrimitives.ReadUInt64BigEndian(span[24..]);
        var crc = BinaryPrimitives.ReadUInt32BigEndian(span[32..]);
        var dataLength = BinaryPrimitives.ReadUInt32BigEndian(span[36..]);
        if (firstOffset > long.MaxValue || dataLength > span.Length - HeaderSize)
        {
            throw new StreamProtocolException($"a chunk's header is out of range (first offset {firstOffset}, {dataLength} data bytes of {span.Length - HeaderSize})");
        }

        var data = chunk.Slice(HeaderSize, (int)dataLength);
        if (Crc32.HashToUInt32(data.Span) != crc)
        {
            throw new StreamProtocolException($"the chunk at offset {firstOffset} does not match its CRC");
        }

        var messages = new List<ReadOnlyMemory<byte>>(type == 0 ? (int)Math.Min(records, dataLength / 4) : 0);
        if (type == 0)
        {
            ReadEntries(data, entries, messages);
            if (messages.Count != records)
            {
                throw new StreamProtocolException($"the chunk at offset {firstOffset} says it holds {records} records, but {messages.Count} are in it");
            }
        }

        return new StreamChunk(type, timestamp, epoch, (long)firstOffset, messages);
    }

    private static void ReadEntries(ReadOnlyMemory<byte> data, ushort entries, List<ReadOnlyMemory<byte>> messages)
    {
        var position = 0;
        for (var entry = 0; entry < entries; entry++)
        {
            var head = Read32(data, position);
            position += 4;
            if ((head & 0x8000_0000) == 0)
            {
                var size = (int)(head & 0x7FFF_FFFF);
                messages.Add(Slice(data, position, size));
                position += size;
                continue;
            }

            // A sub-batch: <<1:1, Compression:3, Reserved:4, Records:16, Uncompressed:32, Length:32, Data>>.
            position -= 4;
            var header = Slice(data, position, 11).Span;
            var compression = (header[0] >> 4) & 0x7;
            var count = BinaryPrimitives.ReadUInt16BigEndian(header[1..]);
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(header[7..]);
            position += 11;
            if (compression != 0)
            {
                throw new StreamProtocolException($"a sub-batch is compressed (type {compression}), which this client does not read");
            }

            var batch = Slice(data, position, length);
            var inner = 0;
            for (var i = 0; i < count; i++)
            {
                var size = (int)Read32(batch, inner);
                messages.Add(Slice(batch, inner + 4, size));
                inner += 4 + size;
            }

            position += length;
        }
    }

    private static uint Read32(ReadOnlyMemory<byte> data, int position) =>
        BinaryPrimitives.ReadUInt32BigEndian(Slice(data, position, 4).Span);

    private static ReadOnlyMemory<byte> Slice(ReadOnlyMemory<byte> data, int position, int count) =>
        position < 0 || count < 0 || position > data.Length - count
            ? throw new StreamProtocolException($"a chunk's entry runs past its data ({count} bytes at {position} of {data.Length})")
            : data.Slice(position, count);
}
