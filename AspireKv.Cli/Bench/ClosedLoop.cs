using System.Diagnostics;
using HdrHistogram;

namespace AspireKv.Cli.Bench;

/// <summary>
/// A closed loop: each client issues one operation, awaits it, and issues the next, for a
/// duration or until a number of operations has succeeded. With a rate, each client also waits
/// for its turn: its share of the rate, on a fixed schedule. Each client records into its own
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
    /// <paramref name="rate"/> is the most operations per second of all the clients together, or 0
    /// for no limit.
    /// </summary>
    public static async Task<WorkloadResult> RunAsync(
        OperationKind kind, int clients, TimeSpan duration, long operations, double rate, Func<int, Func<Task>> createClient, Func<Exception, bool> isFailure,
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
            var pace = rate > 0 ? new Pace(rate / clients, i, clients) : null;
            while (!stop.IsCancellationRequested && (operations == 0 || Interlocked.Increment(ref issued) <= operations))
            {
                if (pace is not null && !await pace.WaitForTurnAsync(stop.Token).ConfigureAwait(false))
                {
                    break;
                }

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

    /// <summary>
    /// One client's schedule at a fixed rate, like etcd's benchmark <c>--rate</c>: a turn every
    /// 1/rate seconds, the clients' turns spread over that interval. A client that falls behind
    /// (its operation took longer than the interval) goes on at once and starts the schedule
    /// again from there, rather than firing the turns it missed in a burst.
    /// </summary>
    private sealed class Pace
    {
        private readonly long _interval;
        private long _next;

        public Pace(double ratePerClient, int client, int clients)
        {
            _interval = Math.Max(1, (long)(Stopwatch.Frequency / ratePerClient));
            _next = Stopwatch.GetTimestamp() + (_interval * client / clients);
        }

        /// <summary>Waits until this client's next turn; false once <paramref name="stop"/> is cancelled.</summary>
        public async Task<bool> WaitForTurnAsync(CancellationToken stop)
        {
            var now = Stopwatch.GetTimestamp();
            if (now - _next > _interval)
            {
                _next = now;
            }

            // A timer counts whole milliseconds (so round up), and may still end a little early: wait again until the turn has come.
            while (_next > now)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(Stopwatch.GetElapsedTime(now, _next).TotalMilliseconds)), stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }

                now = Stopwatch.GetTimestamp();
            }

            _next += _interval;
            return true;
        }
    }
}
