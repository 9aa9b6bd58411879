using System.Security.Cryptography;
using Google.Protobuf;

namespace AspireKv.Node.Commands;

/// <summary>Encodes log entries, and decodes them the same way on every replica.</summary>
public static class LogCodec
{
    /// <summary>The envelope format this version writes.</summary>
    public const uint FormatVersion = 2;

    /// <summary>The oldest envelope format this version still reads.</summary>
    public const uint OldestFormatVersion = 1;

    /// <summary>How many bytes of an entry's SHA-256 identify it (in a snapshot, and as the log's identity).</summary>
    public const int HashBytes = 16;

    public static byte[] Encode(LogEntry entry)
    {
        entry.FormatVersion = FormatVersion;
        return entry.ToByteArray();
    }

    /// <summary>Decodes an entry; false (with the reason) for bytes that are not an entry of a known format.</summary>
    public static bool TryDecode(ReadOnlyMemory<byte> payload, out LogEntry entry, out string error)
    {
        try
        {
            entry = LogEntry.Parser.ParseFrom(payload.Span);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidOperationException or ArgumentException)
        {
            entry = new LogEntry();
            error = $"not a log entry ({ex.Message})";
            return false;
        }

        if (entry.FormatVersion is < OldestFormatVersion or > FormatVersion)
        {
            error = $"format version {entry.FormatVersion} is unknown; this node reads versions {OldestFormatVersion} to {FormatVersion}";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>The first <see cref="HashBytes"/> bytes of the SHA-256 of an entry's bytes as they are in the log.</summary>
    public static ByteString Hash(ReadOnlySpan<byte> payload)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(payload, hash);
        return ByteString.CopyFrom(hash[..HashBytes]);
    }
}
