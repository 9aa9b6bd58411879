using System.Text;
using System.Text.Json;
using AspireKv.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace AspireKv.IntegrationTests;

/// <summary>Private rabbitmq-server instances joined into one RabbitMQ cluster, as the AppHost's broker cluster runs them.</summary>
public sealed class BrokerClusterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Three_brokers_form_one_cluster_that_replicates_a_stream_and_comes_back_after_a_restart()
    {
        using var folder = new TempDirectory("aspirekv-broker-cluster");
        var cluster = new BrokerCluster("messaging", folder.Combine("messaging"), 3);
        try
        {
            await cluster.StartAsync(Timeout);
            var names = cluster.Brokers.Select(b => b.NodeName).Order().ToList();
            Assert.Equal(3, names.Distinct().Count());
            Assert.Equal(3, cluster.Brokers.Select(b => b.AmqpPort).Distinct().Count());
            Assert.Equal(names, await RunningNodesAsync(cluster.Brokers[2]));

            // A stream with a replica on every broker: written through one, read through another.
            await PublishAsync(cluster.Brokers[1].ConnectionString, "cluster-test", "written before the restart");
            Assert.Equal(names, await StreamMembersAsync(cluster.Brokers[0], "cluster-test"));
            Assert.Equal("written before the restart", await ReadFirstAsync(cluster.Brokers[2].ConnectionString, "cluster-test"));

            await cluster.StopAsync();
            Assert.All(cluster.Brokers, b => Assert.False(b.IsRunning));

            await cluster.StartAsync(Timeout);
            Assert.Equal(names, await RunningNodesAsync(cluster.Brokers[0]));

            // Until the restarted cluster has placed the stream's leader again, the broker answers
            // 404 "home node ... is down or inaccessible": ask again, as the nodes do.
            Assert.Equal("written before the restart", await Eventually.SucceedsAsync<string, OperationInterruptedException>(
                () => ReadFirstAsync(cluster.Brokers[0].ConnectionString, "cluster-test"), Timeout));
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        Assert.All(cluster.Brokers, b => Assert.False(b.IsRunning));
    }

    private static async Task<List<string>> RunningNodesAsync(RabbitMqServer broker)
    {
        var (exitCode, output) = await broker.RunCtlAsync(Timeout, "cluster_status", "--formatter", "json");
        Assert.True(exitCode == 0, output);
        using var status = JsonDocument.Parse(output[output.IndexOf('{')..]);
        return [.. status.RootElement.GetProperty("running_nodes").EnumerateArray().Select(n => n.GetString()!).Order()];
    }

    /// <summary>The brokers that hold a replica of the stream, from <c>rabbitmq-streams stream_status</c>.</summary>
    private static async Task<List<string>> StreamMembersAsync(RabbitMqServer broker, string stream)
    {
        var (exitCode, status) = await broker.RunStreamsCtlAsync(Timeout, "stream_status", stream, "--formatter", "json");
        Assert.True(exitCode == 0, status);
        using var rows = JsonDocument.Parse(status[status.IndexOf('[')..]);
        return [.. rows.RootElement.EnumerateArray().Select(r => r.GetProperty("node").GetString()!).Order()];
    }

    private static async Task PublishAsync(string connectionString, string stream, string body)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(connectionString) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync(stream, durable: true, exclusive: false, autoDelete: false,
            new Dictionary<string, object?> { ["x-queue-type"] = "stream", ["x-initial-cluster-size"] = 3 });
        await channel.BasicPublishAsync(string.Empty, stream, Encoding.UTF8.GetBytes(body));
    }

    private static async Task<string> ReadFirstAsync(string connectionString, string stream)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(connectionString) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.BasicQosAsync(0, 10, false);
        var first = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            first.TrySetResult(Encoding.UTF8.GetString(delivery.Body.Span));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(stream, autoAck: false, consumerTag: string.Empty, noLocal: false, exclusive: false,
            new Dictionary<string, object?> { ["x-stream-offset"] = "first" }, consumer);
        return await first.Task.WaitAsync(Timeout);
    }
}
