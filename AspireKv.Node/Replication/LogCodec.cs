using AspireKv.Node.Replication.Wire;
using Google.Protobuf;

namespace AspireKv.Node.Replication;

/// <summary>Encodes log entries, and decodes them the same way on every replica.</summary>
public static class LogCodec
{
    /// <summary>The envelope format this version writes and reads.</summary>
    public const uint FormatVersion = 1;

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

        if (entry.FormatVersion != FormatVersion)
        {
            error = $"format version {entry.FormatVersion} is unknown; this node reads version {FormatVersion}";
            return false;
        }

        error = string.Empty;
        return true;
    }
}
