using System.Collections.Concurrent;
using System.Text;
using AspireKv.Streams;
using AspireKv.Testing;

namespace AspireKv.IntegrationTests;

/// <summary>The stream protocol client against a real rabbitmq-server's stream port: confirms, deduplication of resends, chunks in order, metadata, and clear refusals.</summary>
public sealed class StreamConnectionTests(StreamConnectionTests.BrokerFixture fixture) : IClassFixture<StreamConnectionTests.BrokerFixture>
{
    private RabbitMqServer Broker => fixture.Broker;

    /// <summary>One private broker for the class; each test uses streams of its own.</summary>
    public sealed class BrokerFixture : IAsyncLifetime
    {
        private readonly TempDirectory _folder = new("aspirekv-stream-client-test");
        private RabbitMqServer? _broker;

        public RabbitMqServer Broker => _broker!;

        public async Task InitializeAsync()
        {
            _broker = new RabbitMqServer("streamclient", _folder.Combine("broker"));
            await _broker.StartAsync(TimeSpan.FromSeconds(120));
        }

        public async Task DisposeAsync()
        {
            if (_broker is not null)
            {
                await _broker.DisposeAsync();
            }

            _folder.Dispose();
        }
    }

    [Fact]
    public async Task A_named_publisher_that_resends_after_losing_its_connection_lands_each_message_once_in_publish_order()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        const string stream = "resend-test";
        await using (var first = await ConnectAsync(timeout.Token))
        {
            var retention = new Dictionary<string, string> { ["max-length-bytes"] = "10000000" };
            Assert.True(await first.CreateStreamAsync(stream, retention, timeout.Token));
            Assert.False(await first.CreateStreamAsync(stream, retention, timeout.Token));
            var other = await Assert.ThrowsAsync<StreamResponseException>(() => first.CreateStreamAsync(stream, new Dictionary<string, string>(), timeout.Token));
            Assert.Equal(StreamResponseCode.PreconditionFailed, other.Code);
            var confirmed = Confirms(first);
            await first.DeclarePublisherAsync(1, "node1", stream, timeout.Token);
            for (ulong id = 1; id <= 5; id++)
            {
                first.Publish(1, id, Message(id));
            }

            await WaitForAsync(() => confirmed.Contains(5UL), timeout.Token);
            first.End("the test drops the connection, as a broker hiccup would");
        }

        // The resend does not know which publishes landed: it sends 3 to 7 again.
        await using (var second = await ConnectAsync(timeout.Token))
        {
            await second.DeclarePublisherAsync(1, "node1", stream, timeout.Token);
            Assert.Equal(5UL, await second.QueryPublisherSequenceAsync("node1", stream, timeout.Token));
            var confirmed = Confirms(second);
            for (ulong id = 3; id <= 7; id++)
            {
                second.Publish(1, id, Message(id));
            }

            await WaitForAsync(() => confirmed.Contains(7UL), timeout.Token);
            Assert.Equal(7UL, await second.QueryPublisherSequenceAsync("node1", stream, timeout.Token));
        }

        await using var reader = await ConnectAsync(timeout.Token);
        var records = new ConcurrentQueue<(long Offset, string Text)>();
        reader.ChunkDelivered = (subscription, chunk) =>
        {
            for (var i = 0; i < chunk.Records.Count; i++)
            {
                records.Enqueue((chunk.FirstOffset + i, Encoding.UTF8.GetString(chunk.Records[i].Span)));
            }

            reader.Credit(subscription, 1);
        };
        await reader.SubscribeAsync(1, stream, StreamOffset.First, 2, timeout.Token);
        await WaitForAsync(() => records.Count >= 7, timeout.Token);
        await Task.Delay(500, timeout.Token); // anything a duplicate added would come with or right after

        Assert.Equal(Enumerable.Range(1, 7).Select(i => $"entry {i}"), records.Select(r => r.Text));
        Assert.Equal(records.Select(r => r.Offset).Order(), records.Select(r => r.Offset));
        Assert.Equal(7, records.Select(r => r.Offset).Distinct().Count());
    }

    [Fact]
    public async Task The_largest_message_a_frame_takes_is_confirmed_and_one_byte_more_is_refused_before_it_is_sent()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        const string stream = "frame-size-test";
        await using var connection = await ConnectAsync(timeout.Token);
        await connection.CreateStreamAsync(stream, new Dictionary<string, string>(), timeout.Token);
        var confirmed = Confirms(connection);
        await connection.DeclarePublisherAsync(1, null, stream, timeout.Token);

        var tooLarge = Assert.Throws<ArgumentException>(() => connection.Publish(1, 1, new byte[connection.MaxMessageBytes + 1]));
        Assert.Contains("does not fit in one frame", tooLarge.Message, StringComparison.Ordinal);
        connection.Publish(1, 2, new byte[connection.MaxMessageBytes]);

        await WaitForAsync(() => confirmed.Contains(2UL) || connection.Closed.IsCompleted, timeout.Token);
        Assert.False(connection.Closed.IsCompleted, connection.Closed.IsCompleted ? await connection.Closed : string.Empty);
        Assert.True(await connection.DeleteStreamAsync(stream, timeout.Token));
    }

    [Fact]
    public async Task Metadata_names_the_leader_by_its_advertised_loopback_address_and_a_missing_stream_by_its_code()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var connection = await ConnectAsync(timeout.Token);
        await connection.CreateStreamAsync("metadata-test", new Dictionary<string, string>(), timeout.Token);

        var metadata = await connection.QueryMetadataAsync(["metadata-test", "no-such-stream"], timeout.Token);

        Assert.Equal($"127.0.0.1:{Broker.Layout.StreamPort}", metadata.Single(m => m.Stream == "metadata-test").Leader);
        var missing = metadata.Single(m => m.Stream == "no-such-stream");
        Assert.Equal(StreamResponseCode.StreamDoesNotExist, missing.Code);
        Assert.Null(missing.Leader);
        Assert.True(await connection.DeleteStreamAsync("metadata-test", timeout.Token));
        Assert.False(await connection.DeleteStreamAsync("metadata-test", timeout.Token));
    }

    [Fact]
    public async Task A_wrong_password_is_refused_in_words_and_a_port_nobody_answers_times_out_in_words()
    {
        var options = StreamConnectionOptions.Parse($"127.0.0.1:{Broker.Layout.StreamPort}", "guest", "not-the-password");
        var refused = await Assert.ThrowsAsync<StreamResponseException>(() => StreamConnection.ConnectAsync(options, CancellationToken.None));
        Assert.Equal(StreamResponseCode.AuthenticationFailure, refused.Code);
        Assert.Contains("user name or password is wrong", refused.Message, StringComparison.Ordinal);

        // A listener that never answers: the handshake is bounded, and says where and why.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var stuck = StreamConnectionOptions.Parse($"127.0.0.1:{port}") with { ConnectTimeout = TimeSpan.FromSeconds(1) };
        var timedOut = await Assert.ThrowsAsync<TimeoutException>(() => StreamConnection.ConnectAsync(stuck, CancellationToken.None));
        Assert.Contains($"127.0.0.1:{port}", timedOut.Message, StringComparison.Ordinal);
    }

    private Task<StreamConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var credentials = new Uri(Broker.ConnectionString).UserInfo.Split(':');
        var options = StreamConnectionOptions.Parse($"127.0.0.1:{Broker.Layout.StreamPort}", credentials[0], Uri.UnescapeDataString(credentials[1]));
        return StreamConnection.ConnectAsync(options, cancellationToken);
    }

    private static ConcurrentBag<ulong> Confirms(StreamConnection connection)
    {
        var confirmed = new ConcurrentBag<ulong>();
        connection.Confirmed = (_, ids) =>
        {
            foreach (var id in ids)
            {
                confirmed.Add(id);
            }
        };
        return confirmed;
    }

    private static byte[] Message(ulong id) => Encoding.UTF8.GetBytes($"entry {id}");

    private static async Task WaitForAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(50, cancellationToken);
        }
    }
}
