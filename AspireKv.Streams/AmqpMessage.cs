using System.Buffers.Binary;

namespace AspireKv.Streams;

/// <summary>
/// The AMQP 1.0 message format a stream keeps: the broker stores what a stream-protocol publisher
/// sends as it is, and converts messages published over AMQP 0.9.1 into it. An entry is written as
/// one <c>data</c> section, so that AMQP 0.9.1 consumers (and the management UI) read its bytes as
/// the body; reading takes the <c>data</c> sections of any message and skips its other sections
/// (header, annotations, properties), so entries written over AMQP 0.9.1 read the same.
/// </summary>
public static class AmqpMessage
{
    /// <summary>The bytes <see cref="Wrap"/> adds: the section's descriptor and a 32-bit binary's constructor and length.</summary>
    public const int Overhead = 8;

    private const byte Described = 0x00;
    private const byte SmallULong = 0x53;
    private const byte ULong = 0x80;
    private const byte DataSection = 0x75;

    /// <summary>One message whose only section is <c>data</c> holding <paramref name="body"/>.</summary>
    public static byte[] Wrap(ReadOnlySpan<byte> body)
    {
        var message = new byte[Overhead + body.Length];
        message[0] = Described;
        message[1] = SmallULong;
        message[2] = DataSection;
        message[3] = 0xb0; // vbin32
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), (uint)body.Length);
        body.CopyTo(message.AsSpan(Overhead));
        return message;
    }

    /// <summary>
    /// The body of a message: its <c>data</c> section (several are joined), false when the message
    /// does not parse as AMQP 1.0 sections or carries no <c>data</c>.
    /// </summary>
    public static bool TryUnwrap(ReadOnlyMemory<byte> message, out ReadOnlyMemory<byte> body)
    {
        body = ReadOnlyMemory<byte>.Empty;
        var span = message.Span;
        var position = 0;
        List<ReadOnlyMemory<byte>>? parts = null;
        while (position < span.Length)
        {
            if (!TryReadDescriptor(span, ref position, out var descriptor) || !TryReadValue(span, ref position, out var start, out var length, out var isBinary))
            {
                return false;
            }

            if (descriptor == DataSection)
            {
                if (!isBinary)
                {
                    return false;
                }

                (parts ??= []).Add(message.Slice(start, length));
            }
        }

        if (parts is null)
        {
            return false;
        }

        if (parts.Count == 1)
        {
            body = parts[0];
            return true;
        }

        var joined = new byte[parts.Sum(p => p.Length)];
        var at = 0;
        foreach (var part in parts)
        {
            part.CopyTo(joined.AsMemory(at));
            at += part.Length;
        }

        body = joined;
        return true;
    }

    private static bool TryReadDescriptor(ReadOnlySpan<byte> span, ref int position, out ulong descriptor)
    {
        descriptor = 0;
        if (span.Length - position < 3 || span[position] != Described)
        {
            return false;
        }

        switch (span[position + 1])
        {
            case SmallULong:
                descriptor = span[position + 2];
                position += 3;
                return true;
            case ULong when span.Length - position >= 10:
                descriptor = BinaryPrimitives.ReadUInt64BigEndian(span[(position + 2)..]);
                position += 10;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Steps over one value of the kinds sections hold (lists, maps, binaries, strings, symbols, null), saying where its content is.</summary>
    private static bool TryReadValue(ReadOnlySpan<byte> span, ref int position, out int start, out int length, out bool isBinary)
    {
        start = length = 0;
        isBinary = false;
        if (position >= span.Length)
        {
            return false;
        }

        var constructor = span[position++];
        int width;
        switch (constructor)
        {
            case 0x40: // null
            case 0x45: // empty list
                start = position;
                return true;
            case 0xa0 or 0xa1 or 0xa3 or 0xc0 or 0xc1: // vbin8, str8, sym8, list8, map8
                width = 1;
                break;
            case 0xb0 or 0xb1 or 0xb3 or 0xd0 or 0xd1: // vbin32, str32, sym32, list32, map32
                width = 4;
                break;
            default:
                return false;
        }

        if (span.Length - position < width)
        {
            return false;
        }

        var size = width == 1 ? span[position] : BinaryPrimitives.ReadUInt32BigEndian(span[position..]);
        position += width;
        if (size > (uint)(span.Length - position))
        {
            return false;
        }

        start = position;
        length = (int)size;
        isBinary = constructor is 0xa0 or 0xb0;
        position += length;
        return true;
    }
}
