using System.Text;
using AspireKv.Node.Replication;
using AspireKv.Node.Replication.RabbitMq;
using AspireKv.Node.Replication.Streams;
using AspireKv.Streams;
using AspireKv.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireKv.IntegrationTests;

/// <summary>The stream log on its own against a real broker, through a proxy a test can cut: resends the broker deduplicates, and reads that resume where they left off.</summary>
public sealed class StreamLogTests(StreamConnectionTests.BrokerFixture fixture) : IClassFixture<StreamConnectionTests.BrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_entry_whose_confirm_was_lost_is_sent_again_and_applied_once()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var stream = $"resend-{Guid.NewGuid():N}";
        await using var proxy = new TcpProxy("stream-log", fixture.Broker.Layout.StreamPort);
        await using var log = CreateLog(stream, $"127.0.0.1:{proxy.Port}", "resender");
        await log.StartAsync(timeout.Token);
        await log.WaitForSessionAsync(0, timeout.Token);
        await log.AppendAsync(Encoding.UTF8.GetBytes("entry 1"), timeout.Token);

        // The entry reaches the broker, but its confirm does not come back.
        proxy.Blackhole(ProxyDirection.ToClient);
        var append = log.AppendAsync(Encoding.UTF8.GetBytes("entry 2"), timeout.Token);
        await using var direct = await ConnectAsync(timeout.Token);
        await Eventually.TrueAsync(async () => await direct.QueryPublisherSequenceAsync("resender", stream, timeout.Token) >= 2, Timeout);
        Assert.False(append.IsCompleted);

        // The connection is lost with the confirm; the next session sends the entry again, with its id.
        proxy.Reset();
        proxy.Heal();
        await append.WaitAsync(timeout.Token);
        await log.AppendAsync(Encoding.UTF8.GetBytes("entry 3"), timeout.Token);

        var records = await ReadAsync(log, -1, 3, timeout.Token);
        Assert.Equal(["entry 1", "entry 2", "entry 3"], records.Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
        Assert.True(log.Reconnects >= 1);
    }

    [Fact]
    public async Task A_new_process_of_the_same_node_publishes_above_what_the_broker_holds_from_the_last_one()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var stream = $"restart-{Guid.NewGuid():N}";
        var endpoint = $"127.0.0.1:{fixture.Broker.Layout.StreamPort}";
        await using (var first = CreateLog(stream, endpoint, "node-a"))
        {
            await first.StartAsync(timeout.Token);
            await first.WaitForSessionAsync(0, timeout.Token);
            await first.AppendAsync("one"u8.ToArray(), timeout.Token);
            await first.AppendAsync("two"u8.ToArray(), timeout.Token);
        }

        // Publishing ids start again at 1 in a new process: unless it asked, the broker would drop its first entries.
        await using var second = CreateLog(stream, endpoint, "node-a");
        await second.StartAsync(timeout.Token);
        await second.WaitForSessionAsync(0, timeout.Token);
        await second.AppendAsync("three"u8.ToArray(), timeout.Token);

        var records = await ReadAsync(second, -1, 3, timeout.Token);
        Assert.Equal(["one", "two", "three"], records.Select(r => Encoding.UTF8.GetString(r.Payload.Span)));

        // Resuming at an offset yields that entry first, as the applier's identity check needs.
        var resumed = await ReadAsync(second, records[1].Offset, 2, timeout.Token);
        Assert.Equal([records[1].Offset, records[2].Offset], resumed.Select(r => r.Offset));
    }

    [Fact]
    public async Task A_log_that_ends_before_the_applied_offset_is_reported_as_diverged()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var stream = $"diverged-{Guid.NewGuid():N}";
        await using var log = CreateLog(stream, $"127.0.0.1:{fixture.Broker.Layout.StreamPort}", "node-b");
        await log.StartAsync(timeout.Token);
        await log.WaitForSessionAsync(0, timeout.Token);
        await log.AppendAsync("only"u8.ToArray(), timeout.Token);

        var diverged = await Assert.ThrowsAsync<LogDivergedException>(() => ReadAsync(log, 500, 1, timeout.Token));
        Assert.Equal(500, diverged.AppliedOffset);
        Assert.True(diverged.LastOffset < 500);
    }

    private StreamReplicationLog CreateLog(string stream, string endpoint, string nodeId)
    {
        var options = new ReplicationOptions { Stream = stream, StreamEndpoints = endpoint, Heartbeat = TimeSpan.FromSeconds(1), StreamMaxLengthBytes = 10_000_000, StreamMaxSegmentSizeBytes = 1_000_000 };
        var brokers = BrokerAddresses.Parse(fixture.Broker.ConnectionString).StreamEndpoints(options.StreamEndpoints);
        return new StreamReplicationLog(brokers, options, nodeId, NullLogger<StreamReplicationLog>.Instance);
    }

    private async Task<StreamConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var options = BrokerAddresses.Parse(fixture.Broker.ConnectionString).StreamEndpoints($"127.0.0.1:{fixture.Broker.Layout.StreamPort}")[0];
        return await StreamConnection.ConnectAsync(options, cancellationToken);
    }

    private static async Task<List<LogRecord>> ReadAsync(IReplicationLog log, long resumeAfter, int count, CancellationToken cancellationToken)
    {
        var records = new List<LogRecord>();
        await foreach (var record in log.ReadAsync(resumeAfter, cancellationToken))
        {
            records.Add(record);
            if (records.Count == count)
            {
                break;
            }
        }

        return records;
    }
}
