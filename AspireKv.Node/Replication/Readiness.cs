namespace AspireKv.Node.Replication;

/// <summary>How a replica is doing, as its health reports say it.</summary>
public enum ReplicaHealth
{
    /// <summary>Started, and still applying the log it missed: it serves nothing yet.</summary>
    Starting,

    /// <summary>Serving reads and writes.</summary>
    Serving,

    /// <summary>Serving serializable reads only: the log cannot be written now.</summary>
    Degraded,

    /// <summary>Serving nothing, for good, until someone acts; the detail says why.</summary>
    NotServing,
}

public readonly record struct ReplicaHealthReport(ReplicaHealth Health, string Detail);

/// <summary>
/// Whether the replica has caught up with the log, and whether it has faulted. A replica is caught
/// up once a barrier it proposed after it started has come back: everything acknowledged before
/// then, by any node, has been applied. Until then it serves nothing, not even serializable reads,
/// which could otherwise miss writes it acknowledged before it restarted.
/// </summary>
public sealed class Readiness(string nodeId, ILogger logger)
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);
    private volatile string? _fault;
    private volatile bool _caughtUp;

    public bool IsCaughtUp => _caughtUp;

    /// <summary>Why the replica serves nothing for good; null while it has not faulted.</summary>
    public string? Fault => _fault;

    /// <summary>Stops the replica from serving, until someone acts, and says why (once).</summary>
    public void SetFault(string reason)
    {
        if (Interlocked.CompareExchange(ref _fault, reason, null) is null)
        {
            logger.LogCritical("Node {NodeId} stopped serving: {Reason}", nodeId, reason);
        }
    }

    /// <summary>
    /// The cause of the fault is gone (the replica installed a state that a peer handed over): it
    /// catches up with the log again, and serves once a barrier comes back.
    /// </summary>
    public void ClearFault()
    {
        if (Interlocked.Exchange(ref _fault, null) is not null)
        {
            logger.LogInformation("Node {NodeId} no longer has a fault; it catches up with the log again.", nodeId);
        }
    }

    public ReplicaHealthReport Report(LogAvailability log, long appliedOffset)
    {
        if (_fault is { } fault)
        {
            return new ReplicaHealthReport(ReplicaHealth.NotServing, fault);
        }

        if (!_caughtUp)
        {
            var detail = $"catching up with the log (applied up to offset {appliedOffset})";
            return new ReplicaHealthReport(ReplicaHealth.Starting, log.IsAvailable ? detail : $"{detail}; {log.Detail}");
        }

        return log.IsAvailable
            ? new ReplicaHealthReport(ReplicaHealth.Serving, string.Empty)
            : new ReplicaHealthReport(ReplicaHealth.Degraded, log.Detail);
    }

    /// <summary>Proposes barriers until one comes back; says so once it has, and says once why it is still waiting.</summary>
    public async Task RunAsync(Func<CancellationToken, Task> probe, CancellationToken cancellationToken)
    {
        string? lastReason = null;
        try
        {
            while (true)
            {
                if (_fault is not null)
                {
                    await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                try
                {
                    await probe(cancellationToken).WaitAsync(ProbeTimeout, cancellationToken).ConfigureAwait(false);
                    _caughtUp = true;
                    logger.LogInformation("Node {NodeId} has caught up with the log and is serving.", nodeId);
                    return;
                }
                catch (Exception ex) when (ex is ReplicaUnavailableException or TimeoutException)
                {
                    var reason = ex is TimeoutException ? "the log has not brought back its barrier yet" : ex.Message;
                    if (reason != lastReason)
                    {
                        logger.LogInformation("Node {NodeId} is catching up with the log: {Reason}", nodeId, reason);
                        lastReason = reason;
                    }

                    await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
