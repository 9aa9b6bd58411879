using System.Buffers.Binary;
using System.Text;

namespace AspireKv.Streams;

/// <summary>
/// Frames being written: any number, back to back, each one a big-endian size and then its key,
/// version and fields, as the protocol defines them. The connection's write loop sends all that
/// have gathered in one write.
/// </summary>
public sealed class FrameBuffer(int capacity = 4096)
{
    private byte[] _bytes = new byte[capacity];
    private int _frameStart = -1;

    /// <summary>How many bytes are written.</summary>
    public int Length { get; private set; }

    /// <summary>The frames written so far.</summary>
    public ReadOnlyMemory<byte> Written => _bytes.AsMemory(0, Length);

    public void Clear()
    {
        Length = 0;
        _frameStart = -1;
    }

    /// <summary>Starts a frame; <see cref="EndFrame"/> fills in its size.</summary>
    public FrameBuffer Begin(ushort key, ushort version = 1)
    {
        if (_frameStart >= 0)
        {
            throw new InvalidOperationException("a frame is already being written");
        }

        _frameStart = Length;
        Length += 4;
        Grow(0);
        return UInt16(key).UInt16(version);
    }

    public void EndFrame()
    {
        if (_frameStart < 0)
        {
            throw new InvalidOperationException("no frame is being written");
        }

        BinaryPrimitives.WriteUInt32BigEndian(_bytes.AsSpan(_frameStart), (uint)(Length - _frameStart - 4));
        _frameStart = -1;
    }

    public FrameBuffer UInt8(byte value)
    {
        Grow(1)[0] = value;
        return this;
    }

    public FrameBuffer UInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(Grow(2), value);
        return this;
    }

    public FrameBuffer UInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Grow(4), value);
        return this;
    }

    public FrameBuffer Int32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(Grow(4), value);
        return this;
    }

    public FrameBuffer UInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(Grow(8), value);
        return this;
    }

    public FrameBuffer Int64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(Grow(8), value);
        return this;
    }

    /// <summary>An int16 length and UTF-8 bytes; null is length -1.</summary>
    public FrameBuffer String(string? value)
    {
        if (value is null)
        {
            return UInt16(0xFFFF);
        }

        var length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            throw new ArgumentException($"a string of the stream protocol holds at most {short.MaxValue} bytes", nameof(value));
        }

        UInt16((ushort)length);
        Encoding.UTF8.GetBytes(value, Grow(length));
        return this;
    }

    /// <summary>An int32 length and the bytes.</summary>
    public FrameBuffer Bytes(ReadOnlySpan<byte> value)
    {
        Int32(value.Length);
        value.CopyTo(Grow(value.Length));
        return this;
    }

    /// <summary>An int32 count and then each key and value as strings.</summary>
    public FrameBuffer Map(IReadOnlyCollection<KeyValuePair<string, string>> entries)
    {
        Int32(entries.Count);
        foreach (var (key, value) in entries)
        {
            String(key).String(value);
        }

        return this;
    }

    /// <summary>Overwrites four bytes written before, at <paramref name="position"/> (a count or a size known only later).</summary>
    public void PatchUInt32(int position, uint value) =>
        BinaryPrimitives.WriteUInt32BigEndian(_bytes.AsSpan(position, 4), value);

    /// <summary>Reads back four bytes written before.</summary>
    public uint UInt32At(int position) => BinaryPrimitives.ReadUInt32BigEndian(_bytes.AsSpan(position, 4));

    private Span<byte> Grow(int count)
    {
        if (Length + count > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, Length + count));
        }

        var span = _bytes.AsSpan(Length, count);
        Length += count;
        return span;
    }
}

/// <summary>
/// Reads the fields of one received frame (without its size) in order. Anything short or out of
/// range throws <see cref="StreamProtocolException"/>: the broker's bytes are input too.
/// </summary>
public ref struct FrameReader(ReadOnlySpan<byte> frame)
{
    private readonly ReadOnlySpan<byte> _frame = frame;
    private int _position;

    public readonly int Remaining => _frame.Length - _position;

    public byte UInt8() => Take(1)[0];

    public ushort UInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public ulong UInt64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

    public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public string? String()
    {
        var length = (short)UInt16();
        return length switch
        {
            -1 => null,
            < 0 => throw new StreamProtocolException($"a string's length is {length}"),
            _ => Encoding.UTF8.GetString(Take(length)),
        };
    }

    public ReadOnlySpan<byte> Bytes()
    {
        var length = Int32();
        return length switch
        {
            -1 => [],
            < 0 => throw new StreamProtocolException($"a byte array's length is {length}"),
            _ => Take(length),
        };
    }

    /// <summary>An array's int32 count, checked against what is left (each element is at least <paramref name="minElementSize"/> bytes).</summary>
    public int Count(int minElementSize)
    {
        var count = Int32();
        if (count < 0 || (long)count * minElementSize > Remaining)
        {
            throw new StreamProtocolException($"an array claims {count} elements, but the frame has {Remaining} bytes left");
        }

        return count;
    }

    public Dictionary<string, string> Map()
    {
        var count = Count(4);
        var map = new Dictionary<string, string>(count);
        for (var i = 0; i < count; i++)
        {
            var key = String() ?? string.Empty;
            map[key] = String() ?? string.Empty;
        }

        return map;
    }

    /// <summary>The next <paramref name="count"/> bytes as they are.</summary>
    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new StreamProtocolException($"the frame ends {count - Remaining} bytes too early (at byte {_frame.Length}, {count} wanted at {_position})");
        }

        var span = _frame.Slice(_position, count);
        _position += count;
        return span;
    }

    /// <summary>The rest of the frame.</summary>
    public ReadOnlySpan<byte> Rest() => Take(Remaining);
}
