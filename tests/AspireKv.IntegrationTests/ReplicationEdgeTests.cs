using System.Text;
using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;
using RabbitMQ.Client;

namespace AspireKv.IntegrationTests;

/// <summary>
/// The edges of the write path that a read of the code found, each reproduced on real processes
/// and a real broker: a resend after the dedup window moved on, a stalled or blocked broker, a
/// channel the broker closed, and a broker that shuts down while entries await their confirms.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ReplicationEdgeTests(ClusterFixture cluster)
{
    /// <summary>KvStateMachine.DedupWindowSize: how many command ids every replica remembers.</summary>
    private const int DedupWindow = 100_000;

    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Write_resent_after_its_id_left_the_dedup_window_does_not_overwrite_a_newer_write()
    {
        await cluster.WaitForConvergenceAsync(Converge);
        var key = $"resend/{Guid.NewGuid():N}";
        var node1 = cluster.Client("node1");
        var proxy = cluster.Proxy("node3");

        // node3's entries reach the broker, but nothing comes back: its Put lands in the log and
        // node3 never hears the confirm, so it still holds the entry to send again.
        proxy.Blackhole(ProxyDirection.ToClient);
        Task<PutResponse> resent;
        try
        {
            resent = cluster.Client("node3").PutAsync(key, "old", timeout: TimeSpan.FromMinutes(4));
            await Eventually.TrueAsync(async () => (await node1.GetAsync(key)).Found, TimeSpan.FromSeconds(60), () => cluster.RecentLog());
            var newer = await node1.PutAsync(key, "newer");

            // Enough writes that every replica forgets the old write's command id.
            await WriteManyAsync(["node1", "node2"], DedupWindow + 10_000);

            // node3 learns that its connection is gone, and will send the old entry again.
            proxy.Reset();
        }
        finally
        {
            proxy.Heal();
        }

        try
        {
            await resent;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            // An ambiguous outcome is the right answer: the write was applied once, long ago.
        }

        await cluster.WaitForConvergenceAsync(Converge);
        Assert.Equal("newer", await node1.GetStringAsync(key));
    }

    [Fact]
    public async Task A_memory_alarm_does_not_stop_the_stream_log_because_the_broker_keeps_taking_stream_publishes()
    {
        // RabbitMQ blocks AMQP publishers on a memory alarm, but not stream-protocol ones: a stream
        // keeps what it is given on disk. (AmqpLogTests has the AMQP log under the same alarm.)
        await cluster.WaitForConvergenceAsync(Converge);
        var key = $"alarm/{Guid.NewGuid():N}";
        await cluster.SetMemoryAlarmAsync(raised: true);
        try
        {
            var put = await cluster.Client("node1").PutAsync(key, "written under the alarm", timeout: TimeSpan.FromSeconds(30));
            Assert.True(put.Revision > 0);
            Assert.Equal(NodeHealth.Serving, (await cluster.Client("node1").StatusAsync()).Health);
        }
        finally
        {
            await cluster.SetMemoryAlarmAsync(raised: false);
        }

        await cluster.WaitForConvergenceAsync(Converge);
        Assert.Equal("written under the alarm", await cluster.Client("node3").GetStringAsync(key));
    }

    [Fact]
    public async Task Node_uses_a_stream_created_with_other_retention_as_it_is_and_says_so()
    {
        // As a stream made by an older version, which kept everything: no retention arguments.
        var stream = $"legacy-{Guid.NewGuid():N}";
        var factory = new ConnectionFactory { Uri = new Uri(cluster.Broker.ConnectionString) };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.QueueDeclareAsync(stream, durable: true, exclusive: false, autoDelete: false, new Dictionary<string, object?> { ["x-queue-type"] = "stream" });
        }

        await using var node = cluster.CreateJoiningNode("legacy", new Dictionary<string, string?>
        {
            ["Replication__Stream"] = stream,
            ["Replication__Exchange"] = $"{stream}.commands",
        });
        node.Start();
        await node.WaitHealthyAsync(ClusterFixture.StartTimeout);
        using var client = node.CreateClient();

        var put = await client.PutAsync("legacy/key", "written");

        Assert.Equal(1, put.Revision);
        Assert.Contains(cluster.RecentLog(5000).Split('\n'), l => l.StartsWith("legacy", StringComparison.Ordinal) && l.Contains("the node uses it as it is", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Writes_in_flight_when_the_broker_shuts_down_gracefully_wait_for_it_instead_of_failing_at_once()
    {
        await cluster.WaitForConvergenceAsync(Converge);

        // Writers with long deadlines: a write already on its way when the broker stops should be
        // sent again once it is back, not fail while its caller still waits.
        await using var writers = new Writers(cluster, ["node1", "node2", "node3"], $"shutdown/{Guid.NewGuid():N}", perNode: 8, timeout: TimeSpan.FromMinutes(2));
        await Eventually.TrueAsync(() => writers.Acknowledged.Count >= 300, TimeSpan.FromSeconds(60));
        await cluster.Broker.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await cluster.Broker.StartAsync(ClusterFixture.StartTimeout);
        var atRestart = writers.Acknowledged.Count;
        await Eventually.TrueAsync(() => writers.Acknowledged.Count >= atRestart + 300, TimeSpan.FromSeconds(120), () => cluster.RecentLog());
        await writers.StopAsync();

        // New writes may be refused while the broker is away ("cannot reach the log"); writes that
        // were already on their way must not be given up on ("could not write to the log").
        var abandoned = writers.Failures.Where(f => f.Detail.Contains("could not write to the log", StringComparison.Ordinal) || f.Detail.Contains("has not confirmed it", StringComparison.Ordinal)).ToList();
        Assert.True(abandoned.Count == 0, $"{abandoned.Count} writes in flight failed while their callers waited, for example: {abandoned.FirstOrDefault().Detail}");
        await cluster.WaitForConvergenceAsync(Converge);
    }

    private async Task WriteManyAsync(IReadOnlyList<string> nodes, int count)
    {
        var next = -1;
        var value = Encoding.UTF8.GetBytes("filler");
        await Task.WhenAll(Enumerable.Range(0, 64).Select(worker => Task.Run(async () =>
        {
            var client = cluster.Client(nodes[worker % nodes.Count]);
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await client.PutAsync($"filler/{i % 1000}", value, timeout: TimeSpan.FromSeconds(30));
            }
        })));
    }
}
