using System.Diagnostics;
using AspireKv.Node.Replication;
using AspireKv.Node.StateMachine;

namespace AspireKv.UnitTests;

/// <summary>
/// A fault in the middle of applying or publishing an entry: here a telemetry listener that
/// throws, as a buggy exporter or instrumentation might. Writes must still get their own results,
/// and publishing must go on.
/// </summary>
public sealed class ReplicaFaultTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Fault_while_an_entry_is_applied_neither_loses_nor_mismatches_results()
    {
        await using var replica = await StartReplicaAsync();
        using var fault = new ThrowingListener("aspirekv.apply");

        CommandResult first;
        using (fault.Arm())
        {
            first = await replica.ProposeAsync(Commands.Put("fault/a", "1"), CancellationToken.None).WaitAsync(Patience);
        }

        var second = await replica.ProposeAsync(Commands.Put("fault/b", "2"), CancellationToken.None).WaitAsync(Patience);

        Assert.True(fault.Thrown > 0, "the fault was never injected");
        Assert.Equal(first.Revision, replica.Inspect(s => s.Get("fault/a"))!.ModRevision);
        Assert.Equal(second.Revision, replica.Inspect(s => s.Get("fault/b"))!.ModRevision);
        Assert.Equal(first.Revision + 1, second.Revision);
    }

    [Fact]
    public async Task Fault_while_an_entry_is_prepared_for_publishing_does_not_stop_publishing()
    {
        await using var replica = await StartReplicaAsync();
        using var fault = new ThrowingListener("publish");

        using (fault.Arm())
        {
            try
            {
                await replica.ProposeAsync(Commands.Put("fault/c", "1"), CancellationToken.None).WaitAsync(Patience);
            }
            catch (ReplicaUnavailableException)
            {
                // Failing the affected write is acceptable; stopping every later one is not.
            }
        }

        var later = await replica.ProposeAsync(Commands.Put("fault/d", "2"), CancellationToken.None).WaitAsync(Patience);

        Assert.True(fault.Thrown > 0, "the fault was never injected");
        Assert.Equal(CommandOutcome.Applied, later.Outcome);
    }

    private static async Task<Replica> StartReplicaAsync()
    {
        var replica = TestReplicas.Create(new InMemoryReplicationLog(), "faulty");
        await replica.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow + Patience;
        while (replica.Health.Health != ReplicaHealth.Serving && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        return replica;
    }

    /// <summary>
    /// Listens to the node's ActivitySource and throws when a span whose name starts with the
    /// given text starts inside this test's own trace, while armed.
    /// </summary>
    private sealed class ThrowingListener : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly string _spanName;
        private ActivityTraceId _trace;
        private int _thrown;

        public ThrowingListener(string spanName)
        {
            _spanName = spanName;
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "AspireKv.Node" || source.Name == "AspireKv.UnitTests",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStarted = activity =>
                {
                    if (activity.TraceId == _trace && activity.OperationName.StartsWith(_spanName, StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref _thrown);
                        throw new InvalidOperationException("a telemetry listener failed");
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public int Thrown => Volatile.Read(ref _thrown);

        /// <summary>Starts this test's trace: spans under it fault until it is disposed.</summary>
        public IDisposable Arm()
        {
            var activity = TestSource.StartActivity("test")!;
            _trace = activity.TraceId;
            return new Disarm(this, activity);
        }

        public void Dispose() => _listener.Dispose();

        private static readonly ActivitySource TestSource = new("AspireKv.UnitTests");

        private sealed class Disarm(ThrowingListener listener, Activity activity) : IDisposable
        {
            public void Dispose()
            {
                listener._trace = default;
                activity.Dispose();
            }
        }
    }
}
