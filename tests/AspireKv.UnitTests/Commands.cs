using AspireKv.Node.Commands;
using Google.Protobuf;

namespace AspireKv.UnitTests;

/// <summary>Builds log entries for the state machine's tests.</summary>
internal static class Commands
{
    public static Command Put(string key, string value, long? expected = null, bool returnPrevious = false, Guid? id = null)
    {
        var put = new PutOp { Key = key, Value = ByteString.CopyFromUtf8(value), ReturnPrevious = returnPrevious };
        if (expected is { } e)
        {
            put.ExpectedModRevision = e;
        }

        return new Command { Id = Id(id), Put = put };
    }

    public static Command Delete(string key, bool prefix = false) =>
        new() { Id = Id(null), Delete = new DeleteOp { Key = key, Prefix = prefix } };

    public static Command Barrier() => new() { Id = Id(null), Barrier = new BarrierOp() };

    public static LogEntry Entry(params Command[] commands)
    {
        var entry = new LogEntry { FormatVersion = LogCodec.FormatVersion, Origin = "test" };
        entry.Commands.AddRange(commands);
        return entry;
    }

    /// <summary>An entry stamped as built by a proposer that had applied the log up to <paramref name="proposerAppliedOffset"/>.</summary>
    public static LogEntry Stamped(long proposerAppliedOffset, params Command[] commands)
    {
        var entry = Entry(commands);
        entry.ProposerAppliedOffset = proposerAppliedOffset;
        return entry;
    }

    /// <summary>A stand-in for the hash of the entry at <paramref name="offset"/>.</summary>
    public static ByteString Hash(long offset) => ByteString.CopyFromUtf8($"entry-{offset}");

    private static ByteString Id(Guid? id) => ByteString.CopyFrom((id ?? Guid.NewGuid()).ToByteArray());
}
