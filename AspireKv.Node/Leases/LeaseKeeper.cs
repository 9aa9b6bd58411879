using AspireKv.Node.Commands;
using AspireKv.Node.Replication;

namespace AspireKv.Node.Leases;

/// <summary>
/// Proposes a tick when, by this node's clock, a lease is due. Leases expire only by the log's
/// clock (the newest proposer timestamp applied), so that every replica expires them at the same
/// entry; when nothing else is written, these ticks are what move that clock on. Several nodes may
/// tick at once; that is harmless.
/// </summary>
public sealed class LeaseKeeper(Replica replica, ILogger<LeaseKeeper> logger)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval, replica.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                var now = (replica.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
                var due = replica.Inspect(s => s.Leases().Any(l => l.ExpiresAtMicros <= now));
                if (!due || replica.Health.Health != ReplicaHealth.Serving)
                {
                    continue;
                }

                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                    timeout.CancelAfter(TimeSpan.FromSeconds(5));
                    await replica.ProposeAsync(new Command { Tick = new TickOp() }, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is ReplicaUnavailableException or OperationCanceledException && !stopping.IsCancellationRequested)
                {
                    logger.LogDebug("Could not propose a tick for due leases: {Reason}", ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }
}
