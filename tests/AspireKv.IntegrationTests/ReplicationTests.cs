using System.Text;
using AspireKv.Streams;
using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;
using RabbitMQ.Client;

namespace AspireKv.IntegrationTests;

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

/// <summary>Three real node processes replicating through a real private RabbitMQ stream.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ReplicationTests(ClusterFixture cluster)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Concurrent_writers_on_every_node_get_unique_revisions_and_every_node_agrees()
    {
        var acknowledged = new List<(string Key, string Value, long Revision)>();
        var writes = cluster.Nodes.Keys.SelectMany(node => Enumerable.Range(0, 500).Select(i => (Node: node, Key: $"overlap/k{i % 50}", Value: $"{node}-{i}")));
        using var gate = new SemaphoreSlim(48);
        await Task.WhenAll(writes.Select(async w =>
        {
            await gate.WaitAsync();
            try
            {
                var response = await cluster.Client(w.Node).PutAsync(w.Key, w.Value);
                lock (acknowledged)
                {
                    acknowledged.Add((w.Key, w.Value, response.Revision));
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        Assert.Equal(1500, acknowledged.Count);
        Assert.Equal(1500, acknowledged.Select(a => a.Revision).Distinct().Count());

        await cluster.WaitForConvergenceAsync(Converge);
        var latest = acknowledged.GroupBy(a => a.Key).Select(g => g.MaxBy(a => a.Revision)).ToList();
        foreach (var node in cluster.Nodes.Keys)
        {
            foreach (var expected in latest)
            {
                var got = await cluster.Client(node).GetAsync(expected.Key);
                Assert.True(got.Found, $"{expected.Key} is missing on {node}");
                Assert.Equal(expected.Value, got.Entry.Value.ToStringUtf8());
                Assert.Equal(expected.Revision, got.Entry.ModRevision);
            }
        }
    }

    [Fact]
    public async Task Write_acknowledged_by_node1_is_visible_to_a_linearizable_get_on_node3_immediately()
    {
        for (var i = 0; i < 50; i++)
        {
            var key = $"ryw/{Guid.NewGuid():N}";

            var put = await cluster.Client("node1").PutAsync(key, $"v{i}");
            var get = await cluster.Client("node3").GetAsync(key);

            Assert.True(get.Found, $"{key}, acknowledged at revision {put.Revision} by node1, is not visible on node3 (read at {get.Revision})");
            Assert.Equal($"v{i}", get.Entry.Value.ToStringUtf8());
            Assert.Equal(put.Revision, get.Entry.ModRevision);
            Assert.True(get.Revision >= put.Revision);
        }
    }

    [Fact]
    public async Task Compare_and_set_is_decided_the_same_way_on_every_replica()
    {
        var key = $"cas/{Guid.NewGuid():N}";
        var created = await cluster.Client("node1").PutAsync(key, "0", expectedModRevision: 0);

        // Every node tries to move the key from the same revision; exactly one wins.
        var attempts = await Task.WhenAll(cluster.Nodes.Keys.Select(async node =>
        {
            try
            {
                await cluster.Client(node).PutAsync(key, node, expectedModRevision: created.Revision);
                return (node, StatusCode.OK);
            }
            catch (RpcException ex)
            {
                return (node, ex.StatusCode);
            }
        }));

        Assert.Single(attempts, a => a.Item2 == StatusCode.OK);
        Assert.Equal(2, attempts.Count(a => a.Item2 == StatusCode.FailedPrecondition));
        var winner = attempts.Single(a => a.Item2 == StatusCode.OK).node;
        await cluster.WaitForConvergenceAsync(Converge);
        foreach (var node in cluster.Nodes.Keys)
        {
            Assert.Equal(winner, await cluster.Client(node).GetStringAsync(key));
        }
    }

    [Fact]
    public async Task Garbage_published_straight_to_the_stream_over_AMQP_and_over_the_stream_protocol_is_skipped_and_counted_by_every_node()
    {
        await cluster.WaitForConvergenceAsync(Converge);
        var before = await SkippedCountsAsync();

        var factory = new ConnectionFactory { Uri = new Uri(cluster.Broker.ConnectionString) };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true)))
        {
            await channel.BasicPublishAsync(string.Empty, AspireKv.Client.LogNames.Stream, true, new BasicProperties(), Encoding.UTF8.GetBytes("this is not a log entry \u00ff"));
        }

        // Not even an AMQP 1.0 message: the stream keeps the bytes as they come.
        var credentials = new Uri(cluster.Broker.ConnectionString).UserInfo.Split(':');
        await using (var stream = await StreamConnection.ConnectAsync(
            StreamConnectionOptions.Parse($"127.0.0.1:{cluster.Broker.Layout.StreamPort}", credentials[0], Uri.UnescapeDataString(credentials[1])), CancellationToken.None))
        {
            var confirmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            stream.Confirmed = (_, _) => confirmed.TrySetResult();
            await stream.DeclarePublisherAsync(7, null, AspireKv.Client.LogNames.Stream, CancellationToken.None);
            stream.Publish(7, 1, [0xff, 0x00, 0x13, 0x37]);
            await confirmed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        await cluster.Client("node2").PutAsync($"after-garbage/{Guid.NewGuid():N}", "still writing");
        await cluster.WaitForConvergenceAsync(Converge);
        var after = await SkippedCountsAsync();

        foreach (var node in cluster.Nodes.Keys)
        {
            Assert.Equal(before[node] + 2, after[node]);
        }

        var (same, report) = await cluster.CompareNodesAsync();
        Assert.True(same, report);
    }

    [Fact]
    public async Task Killed_node_restarts_from_its_snapshot_and_the_log_and_loses_no_acknowledged_write()
    {
        var victim = cluster.Nodes["node3"];
        await using (var writers = new Writers(cluster, ["node1", "node2"], $"kill/{Guid.NewGuid():N}"))
        {
            await WaitForAsync(() => writers.Acknowledged.Count >= 200);

            // Let it take a snapshot of what it has, then take it down hard.
            await Task.Delay(TimeSpan.FromSeconds(2));
            await victim.KillAsync();
            var beforeRestart = writers.Acknowledged.Count;
            await WaitForAsync(() => writers.Acknowledged.Count >= beforeRestart + 200);

            victim.Start();
            await victim.WaitHealthyAsync(ClusterFixture.StartTimeout);
            await WaitForAsync(() => writers.Acknowledged.Count >= beforeRestart + 400);
            await writers.StopAsync();

            await cluster.WaitForConvergenceAsync(Converge);
            Assert.Contains(victim.Process!.RecentOutput, l => l.Text.Contains("Loaded the snapshot", StringComparison.Ordinal));
            await AssertEveryAcknowledgedWriteIsEverywhereAsync(writers);
        }
    }

    [Fact]
    public async Task Broker_restart_loses_no_acknowledged_write_and_the_nodes_recover_on_their_own()
    {
        await using var writers = new Writers(cluster, cluster.Nodes.Keys, $"broker/{Guid.NewGuid():N}", perNode: 2, timeout: TimeSpan.FromSeconds(2));
        await WaitForAsync(() => writers.Acknowledged.Count >= 200);
        var stable = await cluster.Client("node1").PutAsync("broker-restart/stable", "before");

        await cluster.Broker.StopAsync();

        // While the broker is down: degraded, writes and linearizable reads fail fast, serializable reads work.
        await WaitForAsync(async () => (await cluster.Client("node1").StatusAsync()).Health == NodeHealth.Degraded);
        var status = await cluster.Client("node1").StatusAsync();
        Assert.Contains("RabbitMQ", status.HealthDetail);
        var read = await cluster.Client("node1").GetAsync("broker-restart/stable", Consistency.Serializable);
        Assert.Equal("before", read.Entry.Value.ToStringUtf8());
        Assert.Equal(stable.Revision, read.Entry.ModRevision);
        var linearizable = await Assert.ThrowsAsync<RpcException>(() => cluster.Client("node1").GetAsync("broker-restart/stable"));
        Assert.Equal(StatusCode.Unavailable, linearizable.StatusCode);
        var write = await Assert.ThrowsAsync<RpcException>(() => cluster.Client("node2").PutAsync("broker-restart/during", "x"));
        Assert.Equal(StatusCode.Unavailable, write.StatusCode);

        await cluster.Broker.StartAsync(ClusterFixture.StartTimeout);

        // Every node takes writes again without anyone touching it.
        foreach (var node in cluster.Nodes.Keys)
        {
            await WaitForAsync(async () =>
            {
                try
                {
                    await cluster.Client(node).PutAsync($"broker-restart/after/{node}", "ok", timeout: TimeSpan.FromSeconds(2));
                    return true;
                }
                catch (RpcException)
                {
                    return false;
                }
            });
        }

        var atRestart = writers.Acknowledged.Count;
        await WaitForAsync(() => writers.Acknowledged.Count >= atRestart + 100);
        await writers.StopAsync();

        Assert.NotEmpty(writers.Failures);
        Assert.All(writers.Failures, f => Assert.True(
            f.Code is StatusCode.Unavailable or StatusCode.DeadlineExceeded,
            $"a write on {f.Node} during the outage failed with {f.Code}: {f.Detail}"));
        await cluster.WaitForConvergenceAsync(Converge);
        await AssertEveryAcknowledgedWriteIsEverywhereAsync(writers);
    }

    private async Task AssertEveryAcknowledgedWriteIsEverywhereAsync(Writers writers)
    {
        foreach (var node in cluster.Nodes.Keys)
        {
            var client = cluster.Client(node);
            foreach (var write in writers.Acknowledged)
            {
                var got = await client.GetAsync(write.Key, Consistency.Serializable);
                Assert.True(got.Found, $"{write.Key}, acknowledged by {write.Node} at revision {write.Revision}, is missing on {node}");
                Assert.Equal(write.Value, got.Entry.Value.ToStringUtf8());
                Assert.Equal(write.Revision, got.Entry.ModRevision);
            }
        }
    }

    private async Task<Dictionary<string, long>> SkippedCountsAsync()
    {
        var result = new Dictionary<string, long>();
        foreach (var node in cluster.Nodes.Keys)
        {
            result[node] = (await cluster.Client(node).StatusAsync()).SkippedLogEntries;
        }

        return result;
    }

    private Task WaitForAsync(Func<bool> condition) => Eventually.TrueAsync(condition, Patience, () => cluster.RecentLog());

    private Task WaitForAsync(Func<Task<bool>> condition) => Eventually.TrueAsync(condition, Patience, () => cluster.RecentLog());

}
