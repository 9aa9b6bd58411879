namespace AspireKv.Node.Replication;

/// <summary>
/// The totally ordered, durable log that every replica applies. The state machine never sees it;
/// the <see cref="LogWriter"/> appends to it and the <see cref="LogApplier"/> reads it back.
/// </summary>
public interface IReplicationLog : IAsyncDisposable
{
    /// <summary>Where entries go, for telemetry: the exchange's name.</summary>
    string Destination { get; }

    /// <summary>Where the log lives now, for status: the broker's host:port; empty when it has no address.</summary>
    string Endpoint => string.Empty;

    /// <summary>How many times the connection to the log was made again after it was lost.</summary>
    long Reconnects => 0;

    /// <summary>The largest entry <see cref="AppendAsync"/> takes, in bytes; the writer closes a batch before it.</summary>
    int MaxEntryBytes => int.MaxValue;

    /// <summary>Whether the log can be written now, why not, and which session of it is current.</summary>
    LogAvailability Availability { get; }

    /// <summary>The number of the current session (of the newest one while there is none): <see cref="Availability"/>'s, without its checks.</summary>
    long CurrentSession => Availability.Session;

    /// <summary>Opens the log (connects, declares what it needs) in the background.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends one entry and completes when the log holds it durably. Throws
    /// <see cref="LogUnavailableException"/> when the log cannot take it; the entry may still have
    /// reached the log.
    /// </summary>
    Task AppendAsync(ReadOnlyMemory<byte> entry, CancellationToken cancellationToken);

    /// <summary>Completes once the log is available in a session newer than <paramref name="afterSession"/>.</summary>
    Task WaitForSessionAsync(long afterSession, CancellationToken cancellationToken);

    /// <summary>
    /// The entries from <paramref name="resumeAfter"/> on, in offset order, until cancelled. When
    /// <paramref name="resumeAfter"/> is an offset (not -1), the entry there is the first one
    /// yielded, so the caller can check it is the entry it applied; after a reconnect the last entry
    /// yielded comes again for the same reason. Offsets may skip numbers (the log's own bookkeeping
    /// takes some). Throws <see cref="LogTruncatedException"/> when the log no longer holds the entry
    /// to resume at, and <see cref="LogDivergedException"/> when the log ends before it.
    /// </summary>
    IAsyncEnumerable<LogRecord> ReadAsync(long resumeAfter, CancellationToken cancellationToken);
}

/// <summary>One entry as read from the log, with its offset.</summary>
public readonly record struct LogRecord(long Offset, ReadOnlyMemory<byte> Payload);

/// <summary>Whether the log can be written now; <see cref="Detail"/> says why not; <see cref="Session"/> counts connections made.</summary>
public readonly record struct LogAvailability(bool IsAvailable, string Detail, long Session = 0)
{
    /// <summary>Whether a session is up (false while the log reconnects); a stalled session is up but not available.</summary>
    public bool HasSession { get; init; } = true;

    public static LogAvailability Available(long session) => new(true, string.Empty, session);
}

/// <summary>The log could not take or serve an entry now (for example, the broker is down).</summary>
public sealed class LogUnavailableException(string message, long session = 0, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>The session the attempt used; a retry waits for a newer one.</summary>
    public long Session { get; } = session;
}

/// <summary>The log no longer holds the entries a replica needs: they were truncated by retention.</summary>
public sealed class LogTruncatedException(long requestedOffset, long firstAvailableOffset)
    : Exception($"The log no longer holds offset {requestedOffset}; the first entry it has from there is at offset {firstAvailableOffset}. The entries in between were truncated by retention.")
{
    public long RequestedOffset { get; } = requestedOffset;

    public long FirstAvailableOffset { get; } = firstAvailableOffset;
}

/// <summary>The log ends before an entry this replica has applied: it was deleted and created again, or lost its newest entries.</summary>
public sealed class LogDivergedException(long appliedOffset, long lastOffset)
    : Exception(lastOffset < 0
        ? $"The log is empty, but this node has applied it up to offset {appliedOffset}: the stream was deleted and created again, or lost what it held."
        : $"The log ends at offset {lastOffset}, but this node has applied it up to offset {appliedOffset}: the stream was deleted and created again, or lost its newest entries.")
{
    public long AppliedOffset { get; } = appliedOffset;

    public long LastOffset { get; } = lastOffset;
}
