using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;
using RabbitMQ.Client;

namespace AspireKv.IntegrationTests;

/// <summary>Three nodes on the AMQP 0.9.1 log (<c>Replication__Log=Amqp</c>), each reaching the broker's AMQP port through a proxy of its own.</summary>
public sealed class AmqpClusterFixture : ClusterFixture
{
    protected override string Log => "Amqp";
}

[CollectionDefinition(Name)]
public sealed class AmqpClusterCollection : ICollectionFixture<AmqpClusterFixture>
{
    public const string Name = "amqp-cluster";
}

/// <summary>
/// The AMQP 0.9.1 log, which nodes use with a broker that has no rabbitmq_stream plugin (Aspire's
/// RabbitMQ container): what only it meets (blocked connections, a publishing channel the broker
/// closes), a partition of one node, and the move to the stream log on the same stream.
/// </summary>
[Collection(AmqpClusterCollection.Name)]
public sealed class AmqpLogTests(AmqpClusterFixture cluster)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Blocked_broker_makes_the_node_degraded_and_no_write_whose_caller_gave_up_is_published_later()
    {
        await cluster.WaitForConvergenceAsync(Converge);
        var node1 = cluster.Client("node1");
        var prefix = $"alarm/{Guid.NewGuid():N}";
        await cluster.SetMemoryAlarmAsync(raised: true);
        try
        {
            // The first write meets the alarm: the broker stops reading from publishing connections.
            await Ignore(node1.PutAsync($"{prefix}/first", "x", timeout: TimeSpan.FromSeconds(2)));

            await Eventually.TrueAsync(async () => (await node1.StatusAsync()).Health == NodeHealth.Degraded, TimeSpan.FromSeconds(30), () => cluster.RecentLog());
            Assert.Contains("block", (await node1.StatusAsync()).HealthDetail, StringComparison.OrdinalIgnoreCase);
            var late = await Assert.ThrowsAsync<RpcException>(() => node1.PutAsync($"{prefix}/late", "x", timeout: TimeSpan.FromSeconds(2)));
            Assert.Equal(StatusCode.Unavailable, late.StatusCode);
        }
        finally
        {
            await cluster.SetMemoryAlarmAsync(raised: false);
        }

        await cluster.WaitForConvergenceAsync(Converge);
        Assert.False((await node1.GetAsync($"{prefix}/late")).Found, "a write refused while the broker was blocked was published after the alarm cleared");
        Assert.Equal(NodeHealth.Serving, (await node1.StatusAsync()).Health);
    }

    [Fact]
    public async Task Publisher_channel_the_broker_closed_is_replaced()
    {
        await cluster.WaitForConvergenceAsync(Converge);
        var factory = new ConnectionFactory { Uri = new Uri(cluster.Broker.ConnectionString) };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            // The next publish of every node meets a missing exchange, and the broker closes that channel.
            await channel.ExchangeDeleteAsync(AspireKv.Client.LogNames.Exchange);
        }

        foreach (var node in cluster.Nodes.Keys)
        {
            var put = await Eventually.SucceedsAsync<PutResponse, RpcException>(
                () => cluster.Client(node).PutAsync($"channel/{node}/{Guid.NewGuid():N}", "after the channel closed", timeout: TimeSpan.FromSeconds(5)),
                TimeSpan.FromSeconds(60),
                () => cluster.RecentLog());
            Assert.True(put.Revision > 0);
        }

        await cluster.WaitForConvergenceAsync(Converge);
        Assert.All(await Task.WhenAll(cluster.Nodes.Keys.Select(n => cluster.Client(n).StatusAsync())), s => Assert.Equal(NodeHealth.Serving, s.Health));
    }

    [Fact]
    public async Task A_node_cut_off_from_the_broker_fails_fast_and_catches_up_after_the_heal()
    {
        await cluster.WaitForConvergenceAsync(Converge);
        var key = $"amqp-partition/{Guid.NewGuid():N}";
        var proxy = cluster.Proxy("node3");
        proxy.Blackhole();
        try
        {
            await Eventually.TrueAsync(async () => (await cluster.Client("node3").StatusAsync()).Health != NodeHealth.Serving, TimeSpan.FromSeconds(60), () => cluster.RecentLog());
            var refused = await Assert.ThrowsAsync<RpcException>(() => cluster.Client("node3").PutAsync($"{key}/refused", "x", timeout: TimeSpan.FromSeconds(30)));
            Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
            await cluster.Client("node1").PutAsync(key, "written while node3 was away");
        }
        finally
        {
            proxy.Heal();
        }

        await cluster.WaitForConvergenceAsync(Converge);
        Assert.Equal("written while node3 was away", await cluster.Client("node3").GetStringAsync(key));
    }

    [Fact]
    public async Task A_node_on_the_stream_log_reads_what_the_AMQP_log_wrote_and_the_two_agree_on_every_entry()
    {
        await cluster.WaitForConvergenceAsync(Converge);
        var prefix = $"migrate/{Guid.NewGuid():N}";
        for (var i = 0; i < 50; i++)
        {
            await cluster.Client($"node{(i % 3) + 1}").PutAsync($"{prefix}/{i}", $"value {i}");
        }

        // Entries published over AMQP 0.9.1 are kept as AMQP 1.0 messages; the stream log reads
        // their body, and what it publishes reads back over AMQP the same way.
        await using var node = cluster.CreateJoiningNode("streamer", new Dictionary<string, string?> { ["Replication__Log"] = "Stream" });
        node.Start();
        await node.WaitHealthyAsync(ClusterFixture.StartTimeout);
        using var client = node.CreateClient();
        Assert.Equal("value 7", await client.GetStringAsync($"{prefix}/7"));
        var put = await client.PutAsync($"{prefix}/from-stream", "published over the stream protocol");
        Assert.True(put.Revision > 0);

        await cluster.WaitForConvergenceAsync(Converge);
        Assert.Equal("published over the stream protocol", await cluster.Client("node2").GetStringAsync($"{prefix}/from-stream"));
        var report = string.Empty;
        await Eventually.TrueAsync(async () =>
        {
            await client.GetAsync("convergence-probe");
            var statuses = await Task.WhenAll(new[] { cluster.Client("node1"), client }.Select(c => c.StatusAsync(includeStateHash: true)));
            report = string.Join("; ", statuses.Select(s => $"revision {s.AppliedRevision}, hash {s.StateHash[..12]}, skipped {s.SkippedLogEntries}"));
            return statuses[0].StateHash == statuses[1].StateHash && statuses[0].SkippedLogEntries == statuses[1].SkippedLogEntries;
        }, Converge, () => report);
    }

    private static async Task Ignore(Task task)
    {
        try
        {
            await task;
        }
        catch (RpcException)
        {
        }
    }
}
