using AspireKv.V1;
using Google.Protobuf;

namespace AspireKv.Node.StateMachine;

/// <summary>
/// A key's value and its etcd-style counters. Immutable, so a reader may hold one after the
/// state machine has moved on.
/// </summary>
public sealed record KeyRecord(string Key, ByteString Value, long CreateRevision, long ModRevision, long Version)
{
    public static KeyRecord FromEntry(Entry entry) => new(entry.Key, entry.Value, entry.CreateRevision, entry.ModRevision, entry.Version);

    /// <summary>The record as the API's <see cref="Entry"/>; without its value when <paramref name="keysOnly"/>.</summary>
    public Entry ToEntry(bool keysOnly = false) => new()
    {
        Key = Key,
        Value = keysOnly ? ByteString.Empty : Value,
        CreateRevision = CreateRevision,
        ModRevision = ModRevision,
        Version = Version,
    };
}

/// <summary>What applying one command did.</summary>
public enum CommandOutcome
{
    /// <summary>The store changed; <see cref="CommandResult.Revision"/> is the write's revision.</summary>
    Applied,

    /// <summary>A delete that matched nothing; the store did not change.</summary>
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
}

/// <summary>The result of one command, decided the same way on every replica.</summary>
public readonly record struct CommandResult(
    CommandOutcome Outcome,
    long Revision,
    long Deleted = 0,
    KeyRecord? Previous = null,
    long CurrentModRevision = 0,
    string? Reason = null);
