using System.Diagnostics;
using HdrHistogram;

namespace AspireKv.Cli.Bench;

/// <summary>
/// A closed loop: each client issues one operation, awaits it, and issues the next, for a
/// duration or until a number of operations has succeeded. Each client records into its own
/// histogram; they are merged at the end.
/// </summary>
internal static class ClosedLoop
{
    /// <summary>With a count to reach, failures are retried; past this many the run gives up.</summary>
    private const long MaxFailedOperations = 10_000;

    /// <summary>
    /// Runs <paramref name="clients"/> loops. <paramref name="createClient"/> is called once per
    /// client with its index and returns that client's operation; <paramref name="isFailure"/>
    /// says which exceptions count as a failed operation rather than a broken run.
    /// </summary>
    public static async Task<WorkloadResult> RunAsync(
        OperationKind kind, int clients, TimeSpan duration, long operations, Func<int, Func<Task>> createClient, Func<Exception, bool> isFailure,
        CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (operations == 0)
        {
            stop.CancelAfter(duration);
        }

        long issued = 0;
        long failed = 0;
        var histograms = new LongHistogram[clients];
        var errors = new long[clients];
        var completed = new long[clients];
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
        {
            var histogram = histograms[i] = Latencies.Create();
            var operation = createClient(i);
            while (!stop.IsCancellationRequested && (operations == 0 || Interlocked.Increment(ref issued) <= operations))
            {
                var begin = Stopwatch.GetTimestamp();
                try
                {
                    await operation().ConfigureAwait(false);
                    histogram.Record(Stopwatch.GetElapsedTime(begin));
                    completed[i]++;
                }
                catch (Exception ex) when (isFailure(ex))
                {
                    errors[i]++;
                    if (operations > 0)
                    {
                        // A count means operations that succeeded: give the failed one back, within reason.
                        if (Interlocked.Increment(ref failed) > MaxFailedOperations)
                        {
                            break;
                        }

                        Interlocked.Decrement(ref issued);
                    }
                }
            }
        }))).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);

        var merged = Latencies.Create();
        foreach (var histogram in histograms)
        {
            merged.Add(histogram);
        }

        return new WorkloadResult(kind, completed.Sum(), errors.Sum(), elapsed, merged);
    }
}
