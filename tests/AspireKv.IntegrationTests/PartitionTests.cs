using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AspireKv.IntegrationTests;

/// <summary>
/// A node cut off from the broker by a silent partition: a proxy that stops forwarding bytes but
/// keeps every socket open, so no reset arrives and nothing is closed. Its clients can still reach it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PartitionTests(ClusterFixture cluster, ITestOutputHelper output)
{
    /// <summary>How soon a node must notice the partition: docs/consistency.md promises it (heartbeat 2 s, confirm stall 3 s).</summary>
    private static readonly TimeSpan DetectionBound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Idle_node_behind_a_silent_partition_notices_it_from_missed_heartbeats()
    {
        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(60));
        var proxy = cluster.Proxy("node3");

        // No writes go through node3, so only the heartbeats can tell it the broker is gone.
        proxy.Blackhole();
        var cut = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await Eventually.TrueAsync(
                async () => (await cluster.Client("node3").StatusAsync()).Health == NodeHealth.Degraded,
                DetectionBound,
                () => cluster.RecentLog());
            var detail = (await cluster.Client("node3").StatusAsync()).HealthDetail;
            output.WriteLine($"idle node3 reported Degraded {cut.Elapsed.TotalSeconds:F1} s after the partition began: {detail}");
            Assert.Contains("heartbeat", detail);
        }
        finally
        {
            proxy.Heal();
        }

        await Eventually.TrueAsync(async () => (await cluster.Client("node3").StatusAsync()).Health == NodeHealth.Serving, DetectionBound, () => cluster.RecentLog());
    }

    [Fact]
    public async Task Node_behind_a_silent_partition_says_degraded_fails_writes_fast_and_recovers_with_nothing_lost()
    {
        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(60));
        var node2 = cluster.Nodes["node2"];
        var proxy = cluster.Proxy("node2");
        var cutAt = DateTimeOffset.UtcNow;
        await using var writers = new Writers(cluster, cluster.Nodes.Keys, $"partition/{Guid.NewGuid():N}", perNode: 2, timeout: TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => writers.Acknowledged.Count >= 100, TimeSpan.FromSeconds(60));

        proxy.Blackhole();
        var cut = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await Eventually.TrueAsync(
                async () => (await cluster.Client("node2").StatusAsync()).Health == NodeHealth.Degraded,
                DetectionBound,
                () => cluster.RecentLog());
            output.WriteLine($"node2 reported Degraded {cut.Elapsed.TotalSeconds:F1} s after the partition began: {(await cluster.Client("node2").StatusAsync()).HealthDetail}");
            Assert.NotEmpty((await cluster.Client("node2").StatusAsync()).HealthDetail);

            // A write on node2 fails at once with UNAVAILABLE; it does not hang until its deadline.
            var write = await Assert.ThrowsAsync<RpcException>(() => cluster.Client("node2").PutAsync("partition/on-node2", "x", timeout: TimeSpan.FromSeconds(20)));
            Assert.Equal(StatusCode.Unavailable, write.StatusCode);
            var read = await Assert.ThrowsAsync<RpcException>(() => cluster.Client("node2").GetAsync("partition/on-node2", timeout: TimeSpan.FromSeconds(20)));
            Assert.Equal(StatusCode.Unavailable, read.StatusCode);
            Assert.NotNull(await cluster.Client("node2").GetAsync("partition/on-node2", Consistency.Serializable));

            // The other nodes go on taking writes.
            foreach (var other in new[] { "node1", "node3" })
            {
                Assert.True((await cluster.Client(other).PutAsync($"partition/{other}", "still writing")).Revision > 0);
            }

            // node2 keeps trying to connect; each attempt behind the partition times out, and says so.
            await Eventually.TrueAsync(
                () => node2.Process!.RecentOutput.Count(l => l.Time >= cutAt && l.Text.Contains("timed out", StringComparison.Ordinal)) >= 2,
                TimeSpan.FromSeconds(60),
                () => string.Join('\n', node2.Process!.RecentOutput.TakeLast(30).Select(l => l.Text)));
        }
        finally
        {
            proxy.Heal();
        }

        var healed = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.TrueAsync(
            async () => (await cluster.Client("node2").StatusAsync()).Health == NodeHealth.Serving,
            DetectionBound,
            () => cluster.RecentLog());
        output.WriteLine($"node2 served again {healed.Elapsed.TotalSeconds:F1} s after the partition healed.");
        var atHeal = writers.Acknowledged.Count;
        await Eventually.TrueAsync(() => writers.Acknowledged.Count(w => w.Node == "node2") > 0 && writers.Acknowledged.Count >= atHeal + 100, TimeSpan.FromSeconds(60));
        await writers.StopAsync();

        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(120));
        foreach (var node in cluster.Nodes.Keys)
        {
            foreach (var acknowledged in writers.Acknowledged)
            {
                var got = await cluster.Client(node).GetAsync(acknowledged.Key, Consistency.Serializable);
                Assert.True(got.Found, $"{acknowledged.Key}, acknowledged by {acknowledged.Node}, is missing on {node}");
                Assert.Equal(acknowledged.Value, got.Entry.Value.ToStringUtf8());
            }
        }
    }
}
