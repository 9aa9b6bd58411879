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

    public static Command PutWithLease(string key, string value, long lease) =>
        new() { Id = Id(null), Put = new PutOp { Key = key, Value = ByteString.CopyFromUtf8(value), Lease = lease } };

    public static Command Txn(IEnumerable<CompareOp> compares, IEnumerable<TxnStep> success, IEnumerable<TxnStep>? failure = null)
    {
        var txn = new TxnOp();
        txn.Compares.AddRange(compares);
        txn.Success.AddRange(success);
        txn.Failure.AddRange(failure ?? []);
        return new Command { Id = Id(null), Txn = txn };
    }

    public static TxnStep PutStep(string key, string value, long lease = 0) => new() { Put = new PutOp { Key = key, Value = ByteString.CopyFromUtf8(value), Lease = lease } };

    public static TxnStep DeleteStep(string key) => new() { Delete = new DeleteOp { Key = key } };

    public static TxnStep GetStep(string key) => new() { Range = new RangeOp { Key = key } };

    public static CompareOp VersionIs(string key, long version) => new() { Key = key, Result = CompareOp.Types.Result.Equal, Version = version };

    public static CompareOp ValueIs(string key, string value) => new() { Key = key, Result = CompareOp.Types.Result.Equal, Value = ByteString.CopyFromUtf8(value) };

    public static Command Grant(long id, long ttlSeconds) => new() { Id = Id(null), LeaseGrant = new LeaseGrantOp { Id = id, TtlSeconds = ttlSeconds } };

    public static Command Revoke(long id) => new() { Id = Id(null), LeaseRevoke = new LeaseRevokeOp { Id = id } };

    public static Command KeepAlive(long id) => new() { Id = Id(null), LeaseKeepAlive = new LeaseKeepAliveOp { Id = id } };

    public static Command Compact(long revision) => new() { Id = Id(null), Compact = new CompactOp { Revision = revision } };

    public static Command Tick() => new() { Id = Id(null), Tick = new TickOp() };

    /// <summary>An entry proposed at <paramref name="seconds"/> past the epoch, by the proposer's clock.</summary>
    public static LogEntry At(double seconds, params Command[] commands)
    {
        var entry = Entry(commands);
        entry.ProposedAtUnixMicros = (long)(seconds * 1_000_000);
        return entry;
    }

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
