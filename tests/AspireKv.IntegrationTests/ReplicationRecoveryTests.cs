using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;
using RabbitMQ.Client;

namespace AspireKv.IntegrationTests;

/// <summary>A cluster whose nodes write a snapshot only when they stop, so a killed node restarts from an old one.</summary>
public sealed class RareSnapshotsClusterFixture : ClusterFixture
{
    protected override IReadOnlyDictionary<string, string?> NodeEnvironment => new Dictionary<string, string?>
    {
        ["Node__SnapshotInterval"] = "01:00:00",
    };
}

/// <summary>A cluster whose stream rolls a segment after every entry larger than 1,000 bytes.</summary>
public sealed class SmallSegmentsClusterFixture : ClusterFixture
{
    protected override IReadOnlyDictionary<string, string?> NodeEnvironment => new Dictionary<string, string?>
    {
        ["Node__SnapshotInterval"] = "00:00:01",
        ["Replication__StreamMaxSegmentSizeBytes"] = "1000",
    };
}

/// <summary>A cluster of its own, for a test that breaks it for good.</summary>
public sealed class ScratchClusterFixture : ClusterFixture;

public sealed class CatchUpTests(RareSnapshotsClusterFixture cluster) : IClassFixture<RareSnapshotsClusterFixture>
{
    [Fact]
    public async Task Restarted_node_refuses_serializable_reads_until_it_has_caught_up()
    {
        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(60));
        var node3 = cluster.Nodes["node3"];
        var key = $"catch-up/{Guid.NewGuid():N}";
        var put = await cluster.Client("node3").PutAsync(key, "acknowledged by node3");

        // node3 dies before any snapshot holds its write, and comes back unable to reach the broker.
        await node3.KillAsync();
        cluster.Proxy("node3").Blackhole();
        try
        {
            node3.Start();
            await Eventually.SucceedsAsync<StatusResponse, RpcException>(() => cluster.Client("node3").StatusAsync(), TimeSpan.FromSeconds(60));

            var stale = await Assert.ThrowsAsync<RpcException>(() => cluster.Client("node3").GetAsync(key, Consistency.Serializable));
            Assert.Equal(StatusCode.Unavailable, stale.StatusCode);
            Assert.Contains("catching up", stale.Status.Detail);
        }
        finally
        {
            cluster.Proxy("node3").Heal();
        }

        await node3.WaitHealthyAsync(ClusterFixture.StartTimeout);
        var got = await cluster.Client("node3").GetAsync(key, Consistency.Serializable);
        Assert.True(got.Found);
        Assert.Equal(put.Revision, got.Entry.ModRevision);
    }
}

public sealed class SegmentBoundaryTests(SmallSegmentsClusterFixture cluster) : IClassFixture<SmallSegmentsClusterFixture>
{
    [Fact]
    public async Task Node_stopped_just_before_a_segment_boundary_resumes_and_serves()
    {
        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(60));
        var node3 = cluster.Nodes["node3"];

        // An entry larger than a segment, applied last by node3, which then stops (and snapshots it).
        await cluster.Client("node3").PutAsync("segments/big", new string('x', 2000));
        var stoppedAt = (await cluster.Client("node3").StatusAsync()).AppliedLogOffset;
        await node3.StopAsync();

        // The next entry rolls the segment: the stream writes a tracking chunk at the next offset,
        // which consumers never see, so the next entry a consumer sees is two offsets on.
        await cluster.Client("node1").PutAsync("segments/after", "written while node3 was away");
        var next = (await cluster.Client("node1").StatusAsync()).AppliedLogOffset;
        Assert.True(next == stoppedAt + 2, $"expected a skipped offset after {stoppedAt}, but the next entry is at {next}");

        node3.Start();
        await node3.WaitHealthyAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("written while node3 was away", await cluster.Client("node3").GetStringAsync("segments/after", Consistency.Serializable));
        Assert.Equal(NodeHealth.Serving, (await cluster.Client("node3").StatusAsync()).Health);
    }
}

public sealed class ReplacedLogTests(ScratchClusterFixture cluster) : IClassFixture<ScratchClusterFixture>
{
    [Fact]
    public async Task Nodes_whose_log_was_deleted_and_recreated_refuse_to_serve_and_say_why()
    {
        for (var i = 0; i < 20; i++)
        {
            await cluster.Client(cluster.Nodes.Keys.ElementAt(i % 3)).PutAsync($"replaced/{i}", "before");
        }

        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(60));
        await Task.WhenAll(cluster.Nodes.Values.Select(n => n.StopAsync()));

        // Someone deletes the stream; the nodes declare a new, empty one when they come back.
        var factory = new ConnectionFactory { Uri = new Uri(cluster.Broker.ConnectionString) };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.QueueDeleteAsync(AspireKv.Client.LogNames.Stream);
        }

        foreach (var node in cluster.Nodes.Values)
        {
            node.Start();
        }

        foreach (var name in cluster.Nodes.Keys)
        {
            var client = cluster.Client(name);
            await Eventually.TrueAsync(
                async () => await TryStatusAsync(client) is { Health: NodeHealth.NotServing },
                TimeSpan.FromSeconds(90),
                () => cluster.RecentLog());
            var status = await client.StatusAsync();
            Assert.Contains("log", status.HealthDetail);
            var write = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync("replaced/after", "x"));
            Assert.Equal(StatusCode.Unavailable, write.StatusCode);
            var read = await Assert.ThrowsAsync<RpcException>(() => client.GetAsync("replaced/0", Consistency.Serializable));
            Assert.Equal(StatusCode.Unavailable, read.StatusCode);
        }
    }

    private static async Task<StatusResponse?> TryStatusAsync(AspireKv.Client.KvClient client)
    {
        try
        {
            return await client.StatusAsync(timeout: TimeSpan.FromSeconds(5));
        }
        catch (RpcException)
        {
            return null;
        }
    }
}
