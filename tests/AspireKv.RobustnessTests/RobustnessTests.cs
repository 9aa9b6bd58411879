using System.Globalization;
using AspireKv.Testing;
using AspireKv.V1;
using Xunit.Abstractions;

namespace AspireKv.RobustnessTests;

/// <summary>
/// Clients write, read, run transactions and revoke leases through all three nodes while a nemesis
/// breaks one thing over and over.
/// Afterwards the history must be linearizable for every key, every replica must hold the same
/// state, no acknowledged write may be lost, and no call may run more than a second past its
/// deadline. Each run lasts 20 s; <c>ASPIREKV_ROBUSTNESS_SECONDS</c> makes it longer.
/// </summary>
public sealed class RobustnessTests(ClusterFixture cluster, ITestOutputHelper output) : IClassFixture<ClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(2);

    private static TimeSpan RunLength =>
        TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("ASPIREKV_ROBUSTNESS_SECONDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? seconds : 20);

    [Theory]
    [InlineData(Fault.KillNode)]
    [InlineData(Fault.PauseNode)]
    [InlineData(Fault.RestartBroker)]
    [InlineData(Fault.KillBroker)]
    [InlineData(Fault.PartitionNode)]
    public Task History_stays_linearizable_and_nothing_is_lost_under(Fault fault) => RunAndCheckAsync(cluster, fault, output);

    /// <summary>Runs the workload against <paramref name="cluster"/> while <paramref name="fault"/> strikes, then checks the history and the replicas.</summary>
    internal static async Task RunAndCheckAsync(ClusterFixture cluster, Fault fault, ITestOutputHelper output)
    {
        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(120));
        var workload = new Workload(cluster, $"robust/{fault}/{Guid.NewGuid():N}", keys: 12, clientsPerNode: 2, Deadline);
        var nemesis = new Nemesis(cluster, fault, seed: (int)fault + 1);

        using (var stop = new CancellationTokenSource(RunLength))
        {
            await Task.WhenAll(workload.RunAsync(stop.Token), nemesis.RunAsync(stop.Token));
        }

        await nemesis.HealAllAsync();
        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(120));
        await workload.ReadEverythingAsync();
        var history = workload.History.Operations;
        var context = $"{fault}: {history.Count} operations ({history.Count(o => o.Transaction?.StartsWith("txn", StringComparison.Ordinal) == true)} parts of transactions, " +
            $"{history.Count(o => o.Kind == OperationKind.Revoke) / workload.Keys.Count} revocations; {history.Count(o => o.Outcome == Outcome.Ok)} ok, {history.Count(o => o.Outcome == Outcome.Unknown)} unknown, " +
            $"{history.Count(o => o.Outcome == Outcome.Failed)} failed); the nemesis did:\n{string.Join('\n', nemesis.Actions)}";

        output.WriteLine(context);

        // The faults happened and the clients got work done through them.
        Assert.True(nemesis.Actions.Count >= 2, context);
        Assert.True(history.Count(o => o is { Outcome: Outcome.Ok, IsWrite: true }) >= 50, context);

        // Linearizable, key by key.
        var check = LinearizabilityChecker.Check(history);
        Assert.True(check.IsLinearizable, $"{context}\n\n{check}");

        // Every replica holds the same state.
        var (same, report) = await cluster.CompareNodesAsync();
        Assert.True(same, $"{context}\n{report}");

        // No acknowledged write is lost: a key that exists is at least as new as every write
        // acknowledged on it; a key that does not was deleted after each of them.
        foreach (var key in workload.Keys)
        {
            var final = await cluster.Client("node1").GetAsync(key, Consistency.Serializable);
            var operations = history.Where(o => o.Key == key).ToList();
            var deletes = operations.Where(o => o.Kind is OperationKind.Delete or OperationKind.Revoke && (o.Outcome == Outcome.Unknown || o.Deleted > 0)).ToList();
            foreach (var write in operations.Where(o => o.Kind is OperationKind.Put or OperationKind.CompareAndSet && o.Outcome == Outcome.Ok && o.Revision > 0))
            {
                var kept = final.Found
                    ? write.Revision <= final.Entry.ModRevision && (write.Revision < final.Entry.ModRevision || write.Value == final.Entry.Value.ToStringUtf8())
                    : deletes.Any(d => d.Outcome == Outcome.Unknown || d.Revision > write.Revision);
                Assert.True(kept, $"{write} is lost: {key} is {(final.Found ? $"{final.Entry.Value.ToStringUtf8()}@{final.Entry.ModRevision}" : "absent")} at the end; {context}");
            }
        }

        // No call ran more than a second past its deadline.
        var late = history.Where(o => o.Client >= 0 && o.Elapsed > o.Deadline + TimeSpan.FromSeconds(1)).ToList();
        Assert.True(late.Count == 0, $"{late.Count} calls ran more than a second past their deadline, for example {late.FirstOrDefault()} after {late.FirstOrDefault()?.Elapsed.TotalSeconds:F1} s; {context}");

        await workload.RevokeLeasesAsync();
    }
}

/// <summary>The cluster fixture with three brokers joined into one RabbitMQ cluster; the nodes get all three.</summary>
public sealed class ThreeBrokerClusterFixture : ClusterFixture
{
    protected override int BrokerCount => 3;
}

/// <summary>The robustness run on a three-broker cluster: the broker that leads the stream is killed over and over.</summary>
public sealed class BrokerClusterRobustnessTests(ThreeBrokerClusterFixture cluster, ITestOutputHelper output) : IClassFixture<ThreeBrokerClusterFixture>
{
    [Fact]
    public Task History_stays_linearizable_and_nothing_is_lost_when_the_streams_leader_is_killed_again_and_again() =>
        RobustnessTests.RunAndCheckAsync(cluster, Fault.KillStreamLeader, output);
}
