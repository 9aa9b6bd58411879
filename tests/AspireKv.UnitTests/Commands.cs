using AspireKv.Node.Replication.Wire;
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
        var entry = new LogEntry { FormatVersion = 1, Origin = "test" };
        entry.Commands.AddRange(commands);
        return entry;
    }

    private static ByteString Id(Guid? id) => ByteString.CopyFrom((id ?? Guid.NewGuid()).ToByteArray());
}
