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

public sealed class TruncatedLogTests(SmallRetentionClusterFixture cluster) : IClassFixture<SmallRetentionClusterFixture>
{
    [Fact]
    public async Task Node_whose_log_prefix_was_truncated_refuses_to_serve_and_says_why()
    {
        var away = cluster.Nodes["node3"];
        await cluster.Client("node1").PutAsync("truncation/early", "seen by node3");
        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(60));
        await away.StopAsync();

        // About 2 MB through a stream that keeps 200 KB: the entries node3 needs next are gone.
        var value = new string('x', 2000);
        for (var i = 0; i < 1000; i++)
        {
            await cluster.Client(i % 2 == 0 ? "node1" : "node2").PutAsync($"truncation/{i}", value);
        }

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
            TimeSpan.FromSeconds(60),
            () => cluster.RecentLog());

        Assert.NotNull(status);
        Assert.Equal(NodeHealth.NotServing, status.Health);
        Assert.Contains("truncated", status.HealthDetail);
        var serializable = await Assert.ThrowsAsync<RpcException>(() => client.GetAsync("truncation/early", Consistency.Serializable));
        Assert.Equal(StatusCode.Unavailable, serializable.StatusCode);
        Assert.Contains("truncated", serializable.Status.Detail);
        var write = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync("truncation/late", "x"));
        Assert.Equal(StatusCode.Unavailable, write.StatusCode);
        await Assert.ThrowsAsync<TimeoutException>(() => away.WaitHealthyAsync(TimeSpan.FromSeconds(2)));

        // The nodes that kept up still serve, and agree.
        Assert.Equal(value, await cluster.Client("node2").GetStringAsync("truncation/999"));
    }
}
