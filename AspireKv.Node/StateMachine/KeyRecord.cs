using AspireKv.V1;
using Google.Protobuf;

namespace AspireKv.Node.StateMachine;

/// <summary>
/// A key's value and its etcd-style counters. Immutable, so a reader (or the history) may hold
/// one after the state machine has moved on.
/// </summary>
public sealed record KeyRecord(string Key, ByteString Value, long CreateRevision, long ModRevision, long Version, long Lease = 0)
{
    public static KeyRecord FromEntry(Entry entry) => new(entry.Key, entry.Value, entry.CreateRevision, entry.ModRevision, entry.Version, entry.Lease);

    /// <summary>What a delete at <paramref name="revision"/> leaves of a key in a watch event: its name and the revision.</summary>
    public static KeyRecord Tombstone(string key, long revision) => new(key, ByteString.Empty, 0, revision, 0);

    /// <summary>The record as the API's <see cref="Entry"/>; without its value when <paramref name="keysOnly"/>.</summary>
    public Entry ToEntry(bool keysOnly = false) => new()
    {
        Key = Key,
        Value = keysOnly ? ByteString.Empty : Value,
        CreateRevision = CreateRevision,
        ModRevision = ModRevision,
        Version = Version,
        Lease = Lease,
    };
}

/// <summary>What applying one command did.</summary>
public enum CommandOutcome
{
    /// <summary>Done; <see cref="CommandResult.Revision"/> is the write's revision (or the store's, for one that wrote nothing).</summary>
    Applied,

    /// <summary>A delete that matched nothing, or a command with nothing to change; the store did not change.</summary>
    NoChange,

    /// <summary>A compare-and-set whose expected mod_revision did not match.</summary>
    PreconditionFailed,

    /// <summary>The command id was applied before (a retried publish); nothing was done again.</summary>
    Duplicate,

    /// <summary>The command was malformed; <see cref="CommandResult.Reason"/> says how.</summary>
    Rejected,

    /// <summary>A barrier: nothing to do but be applied.</summary>
    Barrier,

    /// <summary>
    /// A retried entry that reached the log so late that an earlier copy of it could have been
    /// applied and forgotten; nothing was done, so that it cannot be applied twice.
    /// </summary>
    Stale,

    /// <summary>The lease named does not exist (or has expired); nothing was done.</summary>
    LeaseNotFound,

    /// <summary>A lease with the id asked for exists already; nothing was done.</summary>
    LeaseExists,

    /// <summary>A write that keeps the key's value or lease, on a key that does not exist; nothing was done.</summary>
    KeyNotFound,

    /// <summary>A compaction to a revision at or before the current compact revision; nothing was done.</summary>
    Compacted,

    /// <summary>A compaction to a revision after the current one; nothing was done.</summary>
    FutureRevision,

    /// <summary>An auth change etcd refuses (an unknown user, a role granted twice…); <see cref="CommandResult.Reason"/> is etcd's error text.</summary>
    AuthRefused,
}

/// <summary>The result of one command, decided the same way on every replica.</summary>
public readonly record struct CommandResult(
    CommandOutcome Outcome,
    long Revision,
    long Deleted = 0,
    KeyRecord? Previous = null,
    long CurrentModRevision = 0,
    string? Reason = null)
{
    /// <summary>For a delete asked to return them: the entries it removed.</summary>
    public IReadOnlyList<KeyRecord>? DeletedRecords { get; init; }

    /// <summary>For a transaction: which branch ran, and each of its steps' results.</summary>
    public TxnOutcome? Txn { get; init; }

    /// <summary>For a lease command: the lease's id and TTL.</summary>
    public LeaseInfo? Lease { get; init; }

    /// <summary>For a compaction: the compact revision after it.</summary>
    public long CompactRevision { get; init; }
}

/// <summary>A transaction's result: whether its compares held, and what each step of the branch that ran did.</summary>
public sealed record TxnOutcome(bool Succeeded, IReadOnlyList<TxnStepResult> Steps);

/// <summary>One step of a transaction: a put (its revision and previous record), a delete (what it removed), or a range (what it read).</summary>
public sealed record TxnStepResult(long Revision, KeyRecord? Previous = null, IReadOnlyList<KeyRecord>? Records = null, long Count = 0, bool More = false);

/// <summary>A lease's id, its TTL and when (by the log's clock) it expires.</summary>
public sealed record LeaseInfo(long Id, long TtlSeconds, long ExpiresAtMicros, IReadOnlyList<string>? Keys = null);
