namespace AspireKv.Node.Replication;

/// <summary>
/// The totally ordered, durable log that every replica applies. The state machine never sees it;
/// the <see cref="Replica"/> appends proposals to it and applies what it reads back.
/// </summary>
public interface IReplicationLog : IAsyncDisposable
{
    /// <summary>Where entries go, for telemetry: the exchange's name.</summary>
    string Destination { get; }

    /// <summary>Whether the log can be written now, and why not.</summary>
    LogAvailability Availability { get; }

    /// <summary>Opens the log (connects, declares what it needs). Throws when it cannot.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends one entry and completes when the log holds it durably. Throws
    /// <see cref="LogUnavailableException"/> when the log cannot take it.
    /// </summary>
    Task AppendAsync(ReadOnlyMemory<byte> entry, CancellationToken cancellationToken);

    /// <summary>
    /// Every entry from <paramref name="fromOffset"/> on, in offset order, until cancelled. Throws
    /// <see cref="LogTruncatedException"/> when the log no longer holds <paramref name="fromOffset"/>.
    /// </summary>
    IAsyncEnumerable<LogRecord> ReadAsync(long fromOffset, CancellationToken cancellationToken);
}

/// <summary>One entry as read from the log, with its offset.</summary>
public readonly record struct LogRecord(long Offset, ReadOnlyMemory<byte> Payload);

/// <summary>Whether the log can be written now; <see cref="Detail"/> says why not.</summary>
public readonly record struct LogAvailability(bool IsAvailable, string Detail)
{
    public static LogAvailability Available { get; } = new(true, string.Empty);
}

/// <summary>The log could not take or serve an entry now (for example, the broker is down).</summary>
public sealed class LogUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>The log no longer holds the entries a replica needs: they were truncated by retention.</summary>
public sealed class LogTruncatedException(long requestedOffset, long firstAvailableOffset)
    : Exception($"The log no longer holds offset {requestedOffset}; its first entry is at offset {firstAvailableOffset}. The entries in between were truncated by retention.")
{
    public long RequestedOffset { get; } = requestedOffset;

    public long FirstAvailableOffset { get; } = firstAvailableOffset;
}
