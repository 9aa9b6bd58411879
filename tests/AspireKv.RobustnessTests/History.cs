namespace AspireKv.RobustnessTests;

/// <summary>What an operation did to, or saw of, one key.</summary>
public enum OperationKind
{
    /// <summary>An unconditional Put of <see cref="Operation.Value"/>.</summary>
    Put,

    /// <summary>A Put only if the key's mod_revision is <see cref="Operation.ExpectedModRevision"/> (0: only if absent).</summary>
    CompareAndSet,

    Delete,

    /// <summary>A linearizable Get.</summary>
    Get,

    /// <summary>
    /// A lease revoked, as it bears on one key: the key is deleted if its current value was written
    /// with the lease (one of <see cref="Operation.LeaseValues"/>), and left alone otherwise.
    /// </summary>
    Revoke,
}

/// <summary>How an operation ended, as its client saw it.</summary>
public enum Outcome
{
    /// <summary>It completed, with the result the operation records.</summary>
    Ok,

    /// <summary>It certainly had no effect (the node refused it before doing anything); left out of the check.</summary>
    Failed,

    /// <summary>It may or may not have taken effect (a timeout, a lost connection): it may be placed anywhere after its call, or nowhere.</summary>
    Unknown,
}

/// <summary>
/// One operation on one key, with when it was called and when it returned (ticks of one
/// stopwatch), its outcome and what it returned: for a Get, whether the key was found with which
/// value and mod_revision; for a write, the revision it got; for a compare-and-set that did not
/// match, the key's mod_revision then.
/// </summary>
public sealed record Operation(int Client, string Node, OperationKind Kind, string Key, long Invoked, long Returned, Outcome Outcome)
{
    public int Index { get; set; }

    /// <summary>For Put and CompareAndSet: the value written; unique in a history, so a read that sees it names its write.</summary>
    public string? Value { get; init; }

    public long ExpectedModRevision { get; init; }

    /// <summary>For a Get that completed: whether the key existed.</summary>
    public bool Found { get; init; }

    /// <summary>For a Get that found the key: its value.</summary>
    public string? ReadValue { get; init; }

    /// <summary>For a Get that found the key: its mod_revision; for a compare-and-set that did not match: the key's mod_revision then (0: absent).</summary>
    public long ModRevision { get; init; }

    /// <summary>For a write that completed: the revision it was applied at (0 for a delete that removed nothing, or a compare-and-set that did not match).</summary>
    public long Revision { get; init; }

    /// <summary>For a compare-and-set that completed: whether it matched.</summary>
    public bool Matched { get; init; }

    /// <summary>For a delete that completed: how many keys it removed (0 or 1).</summary>
    public long Deleted { get; init; }

    /// <summary>For a Revoke: every value written with the lease, so the ones whose key it deletes.</summary>
    public IReadOnlySet<string>? LeaseValues { get; init; }

    /// <summary>For a write made in a transaction: the transaction's number in its client, to tell its parts apart from other calls.</summary>
    public string? Transaction { get; init; }

    /// <summary>The deadline the client gave the call.</summary>
    public TimeSpan Deadline { get; init; }

    /// <summary>How long the call took as its client saw it, whatever its outcome.</summary>
    public TimeSpan Elapsed { get; init; }

    public bool IsWrite => Kind is not OperationKind.Get;

    public override string ToString() => Kind switch
    {
        OperationKind.Get when Outcome == Outcome.Ok => $"#{Index} c{Client}@{Node} get {Key} -> {(Found ? $"{ReadValue}@{ModRevision}" : "absent")}",
        OperationKind.Put => $"#{Index} c{Client}@{Node} {Transaction ?? "put"} {Key}={Value} -> {(Outcome == Outcome.Ok ? $"rev {Revision}" : Outcome.ToString())}",
        OperationKind.CompareAndSet => $"#{Index} c{Client}@{Node} {Transaction ?? "cas"} {Key}={Value} if {ExpectedModRevision} -> {(Outcome != Outcome.Ok ? Outcome.ToString() : Matched ? $"rev {Revision}" : $"mismatch (was {ModRevision})")}",
        OperationKind.Delete => $"#{Index} c{Client}@{Node} del {Key} -> {(Outcome == Outcome.Ok ? $"{Deleted} at rev {Revision}" : Outcome.ToString())}",
        OperationKind.Revoke => $"#{Index} c{Client}@{Node} revoke lease of [{string.Join(',', LeaseValues ?? new HashSet<string>())}] -> {(Outcome == Outcome.Ok ? $"{Deleted} keys at rev {Revision}" : Outcome.ToString())}",
        _ => $"#{Index} c{Client}@{Node} {Kind} {Key} -> {Outcome}",
    };
}

/// <summary>Every operation of a run, recorded by the clients as they complete.</summary>
public sealed class History
{
    private readonly List<Operation> _operations = [];

    public IReadOnlyList<Operation> Operations
    {
        get
        {
            lock (_operations)
            {
                return [.. _operations];
            }
        }
    }

    public void Add(Operation operation)
    {
        lock (_operations)
        {
            operation.Index = _operations.Count;
            _operations.Add(operation);
        }
    }
}
