using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;

namespace AspireKv.IntegrationTests;

/// <summary>A cluster whose stream keeps only about 200 KB, so that retention truncates it quickly.</summary>
public sealed class SmallRetentionClusterFixture : ClusterFixture
{
    protected override IReadOnlyDictionary<string, string?> NodeEnvironment => new Dictionary<string, string?>
    {
        ["Node__SnapshotInterval"] = "00:00:01",
        ["Replication__StreamMaxLengthBytes"] = "200000",
        ["Replication__StreamMaxSegmentSizeBytes"] = "50000",
    };
}

/// <summary>
/// Nodes that need entries the stream's retention has removed: they fetch a snapshot from a peer,
/// and refuse to serve (saying why) only while no peer can hand one over.
/// </summary>
public sealed class TruncatedLogTests(SmallRetentionClusterFixture cluster) : IClassFixture<SmallRetentionClusterFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly string Value = new('x', 2000);

    [Fact]
    public async Task Node_stopped_while_the_log_rolled_past_its_offset_installs_a_peers_snapshot_and_converges()
    {
        var (away, run) = await StopNode3WhileTheLogRollsAsync();

        away.Start();
        await away.WaitHealthyAsync(Patience);
        await cluster.WaitForConvergenceAsync(Patience);
        var client = cluster.Client("node3");
        Assert.Equal("seen by node3", await client.GetStringAsync($"truncation/{run}/early", Consistency.Serializable));
        Assert.Equal(Value, await client.GetStringAsync($"truncation/{run}/999", Consistency.Serializable));
        Assert.Contains(cluster.RecentLog(2000).Split('\n'), l => l.StartsWith("node3", StringComparison.Ordinal) && l.Contains("installed a snapshot from node", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Node_that_needs_truncated_entries_refuses_to_serve_while_no_peer_can_help_and_serves_once_one_can()
    {
        var (away, run) = await StopNode3WhileTheLogRollsAsync();
        await cluster.WaitForConvergenceAsync(Patience, cluster.Nodes.Keys.Where(n => n != "node3"));
        await Task.WhenAll(cluster.Nodes["node1"].StopAsync(), cluster.Nodes["node2"].StopAsync());

        try
        {
            away.Start();
            var client = cluster.Client("node3");
            StatusResponse? status = null;
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        status = await client.StatusAsync();
                        return status.Health == NodeHealth.NotServing;
                    }
                    catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
                    {
                        return false; // still starting up
                    }
                },
                Patience,
                () => cluster.RecentLog());

            Assert.Contains("truncated", status!.HealthDetail);
            Assert.Contains("no peer could hand over a snapshot", status.HealthDetail);
            var serializable = await Assert.ThrowsAsync<RpcException>(() => client.GetAsync($"truncation/{run}/early", Consistency.Serializable));
            Assert.Equal(StatusCode.Unavailable, serializable.StatusCode);
            Assert.Contains("truncated", serializable.Status.Detail);
            var write = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync($"truncation/{run}/late", "x"));
            Assert.Equal(StatusCode.Unavailable, write.StatusCode);
        }
        finally
        {
            cluster.Nodes["node1"].Start();
            cluster.Nodes["node2"].Start();
        }

        // Once a peer is back, node3 asks again, installs its snapshot and serves.
        await away.WaitHealthyAsync(Patience);
        await cluster.WaitForConvergenceAsync(Patience);
        Assert.Equal(Value, await cluster.Client("node3").GetStringAsync($"truncation/{run}/999", Consistency.Serializable));
    }

    [Fact]
    public async Task A_fourth_node_added_to_the_running_cluster_installs_a_peers_snapshot_and_converges()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        await cluster.Client("node1").PutAsync($"truncation/{run}/early", "before node4");
        await RollTheLogAsync(run); // the log no longer starts at offset 0

        await using var node4 = cluster.CreateJoiningNode("node4");
        node4.Start();
        await node4.WaitHealthyAsync(Patience);
        using var client = node4.CreateClient();

        Assert.Equal("before node4", await client.GetStringAsync($"truncation/{run}/early"));
        await cluster.WaitForConvergenceAsync(Patience);
        await client.GetAsync("convergence-probe"); // node4 applies what the others did
        var mine = await client.StatusAsync(includeStateHash: true);
        var theirs = await cluster.Client("node1").StatusAsync(includeStateHash: true);
        Assert.Equal((theirs.AppliedRevision, theirs.StateHash), (mine.AppliedRevision, mine.StateHash));
        Assert.Contains(cluster.RecentLog(5000).Split('\n'), l => l.StartsWith("node4", StringComparison.Ordinal) && l.Contains("installed a snapshot from node", StringComparison.Ordinal));
    }

    /// <summary>node3 sees one write, stops, and the log rolls past it.</summary>
    private async Task<(NodeProcess Away, string Run)> StopNode3WhileTheLogRollsAsync()
    {
        var away = cluster.Nodes["node3"];
        var run = Guid.NewGuid().ToString("N")[..8];
        await cluster.Client("node1").PutAsync($"truncation/{run}/early", "seen by node3");
        await cluster.WaitForConvergenceAsync(Patience);
        await away.StopAsync();
        await RollTheLogAsync(run);
        return (away, run);
    }

    /// <summary>About 2 MB through a stream that keeps 200 KB: the first entries are gone afterwards.</summary>
    private async Task RollTheLogAsync(string run)
    {
        for (var i = 0; i < 1000; i++)
        {
            await cluster.Client(i % 2 == 0 ? "node1" : "node2").PutAsync($"truncation/{run}/{i}", Value);
        }
    }
}
