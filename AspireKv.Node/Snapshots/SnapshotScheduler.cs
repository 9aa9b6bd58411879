using AspireKv.Node.Replication;

namespace AspireKv.Node.Snapshots;

/// <summary>Writes the replica's snapshot now and then while it runs (when it has applied something new), and once more when it stops.</summary>
public sealed class SnapshotScheduler(Replica replica, SnapshotStore store, TimeSpan interval, ILogger<SnapshotScheduler> logger)
{
    private long _savedOffset = long.MinValue;

    public async Task RunAsync(CancellationToken stopping)
    {
        _savedOffset = replica.Inspect(s => s.AppliedOffset);
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                TrySave();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Writes a snapshot if the replica has applied something since the last one; a replica that has faulted keeps the one it has.</summary>
    public void TrySave()
    {
        if (replica.Health.Health == ReplicaHealth.NotServing)
        {
            return;
        }

        try
        {
            var capture = replica.Capture();
            if (capture.AppliedOffset == _savedOffset)
            {
                return;
            }

            store.Save(capture, replica.NodeId);
            _savedOffset = capture.AppliedOffset;
            logger.LogDebug("Wrote a snapshot at log offset {Offset} (revision {Revision}).", capture.AppliedOffset, capture.Revision);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            logger.LogError(ex, "Could not write a snapshot to {Path}.", store.Path);
        }
    }
}
