using AspireKv.Node.Replication;

namespace AspireKv.Node.Snapshots;

/// <summary>
/// Writes the replica's snapshot now and then while it runs (when it has applied something new),
/// and once more when it stops. A large state takes seconds of CPU to write, on cores the node
/// shares with its peers and the broker, so the wait after a snapshot is at least ten times as
/// long as that snapshot took (snapshots use at most a tenth of a core), and the first wait is
/// jittered, so that replicas started together do not all write at once.
/// </summary>
public sealed class SnapshotScheduler(Replica replica, SnapshotStore store, TimeSpan interval, ILogger<SnapshotScheduler> logger)
{
    /// <summary>The wait after a snapshot, as a multiple of how long it took.</summary>
    public const int WaitPerWriteTime = 10;

    private long _savedOffset = long.MinValue;

    /// <summary>How long the last snapshot took, capture and write.</summary>
    public TimeSpan LastDuration { get; private set; }

    /// <summary>Called on the saving thread after each step of a snapshot; for tests.</summary>
    internal Action<SnapshotStep>? OnStep { get; init; }

    /// <summary>The wait before the next snapshot: the interval, or ten times the last one's duration if that is longer.</summary>
    public static TimeSpan NextWait(TimeSpan interval, TimeSpan lastDuration) =>
        TimeSpan.FromTicks(Math.Max(interval.Ticks, lastDuration.Ticks * WaitPerWriteTime));

    public async Task RunAsync(CancellationToken stopping)
    {
        _savedOffset = replica.Inspect(s => s.AppliedOffset);
        try
        {
            await Task.Delay(interval + TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * interval.TotalMilliseconds), stopping).ConfigureAwait(false);
            while (true)
            {
                await SaveInBackground().ConfigureAwait(false);
                await Task.Delay(NextWait(interval, LastDuration), stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// <see cref="TrySave"/> on a thread of its own at a lower CPU priority (see
    /// <see cref="BackgroundPriority"/>), so that neither the thread pool nor the calls it serves
    /// wait for the second of CPU a large snapshot takes.
    /// </summary>
    internal Task SaveInBackground()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                TrySave(lowerPriorityToWrite: true);
                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "aspirekv snapshot",
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// Writes a snapshot if the replica has applied something since the last one; a replica that
    /// has faulted keeps the one it has. With <paramref name="lowerPriorityToWrite"/>, the calling
    /// thread gives up CPU priority for good once the capture is taken: the capture holds the apply
    /// lock, and must not wait for a busy core at a low priority while writes and reads wait for it.
    /// </summary>
    public void TrySave(bool lowerPriorityToWrite = false)
    {
        if (replica.Health.Health == ReplicaHealth.NotServing)
        {
            return;
        }

        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var capture = replica.Capture();
            var captured = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            OnStep?.Invoke(SnapshotStep.Captured);
            if (capture.AppliedOffset == _savedOffset)
            {
                return;
            }

            if (lowerPriorityToWrite)
            {
                BackgroundPriority.LowerCurrentThread();
            }

            store.Save(capture, replica.NodeId);
            OnStep?.Invoke(SnapshotStep.Written);
            _savedOffset = capture.AppliedOffset;
            LastDuration = System.Diagnostics.Stopwatch.GetElapsedTime(started);

            // The capture holds the apply lock (writes and reads wait); the write to disk does not.
            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.LogDebug(
                    "Wrote a snapshot at log offset {Offset} (revision {Revision}, {Keys} keys, {Bytes} bytes): captured in {CaptureMs:F1} ms under the apply lock, written in {WriteMs:F0} ms.",
                    capture.AppliedOffset, capture.Revision, capture.Keys.Count, new FileInfo(store.Path).Length, captured.TotalMilliseconds, (LastDuration - captured).TotalMilliseconds);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            logger.LogError(ex, "Could not write a snapshot to {Path}.", store.Path);
        }
    }
}

/// <summary>The steps of a snapshot that <see cref="SnapshotScheduler.OnStep"/> reports.</summary>
internal enum SnapshotStep
{
    Captured,
    Written,
}
