using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace AspireKv.Node.Replication.RabbitMq;

/// <summary>
/// The log as a RabbitMQ stream: nodes publish to the fanout exchange <c>aspirekv.commands</c>,
/// which feeds the durable stream <c>aspirekv.log</c>; every node consumes the stream from its next
/// unapplied offset. A stream has one writer, so every consumer sees one order across all
/// publishers, and it keeps what was published while a node was away.
/// The connection is supervised here rather than by the client's automatic recovery, because
/// that would re-subscribe with the original <c>x-stream-offset</c> and replay from there.
/// </summary>
public sealed class RabbitMqReplicationLog : IReplicationLog
{
    private readonly ConnectionFactory _factory;
    private readonly RabbitMqLogOptions _options;
    private readonly string _nodeId;
    private readonly ILogger<RabbitMqReplicationLog> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _sessionGate = new();
    private Session? _session;
    private TaskCompletionSource _sessionChanged = NewSignal();
    private LogAvailability _availability;
    private Task _supervisor = Task.CompletedTask;
    private long _reconnects;

    public RabbitMqReplicationLog(string connectionString, IOptions<RabbitMqLogOptions> options, IOptions<ReplicaOptions> replica, ILogger<RabbitMqReplicationLog> logger)
    {
        _options = options.Value;
        _nodeId = replica.Value.NodeId;
        _logger = logger;
        _factory = new ConnectionFactory
        {
            Uri = ParseConnectionString(connectionString),
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            ClientProvidedName = $"aspirekv {_nodeId}",
            RequestedHeartbeat = TimeSpan.FromSeconds(10),
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        };
        Endpoint = $"{_factory.HostName}:{_factory.Port}";
        _availability = new LogAvailability(false, $"connecting to RabbitMQ at {Endpoint}");
    }

    /// <summary>host:port of the broker, for messages.</summary>
    public string Endpoint { get; }

    /// <summary>How many times the connection was re-established after it was lost.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    public LogAvailability Availability => _availability;

    public string Destination => _options.Exchange;

    /// <summary>Checks an AMQP URI and says what is wrong with it; the node refuses to start with a bad one.</summary>
    public static Uri ParseConnectionString(string connectionString)
    {
        if (!Uri.TryCreate(connectionString, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps"))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:messaging '{Redact(connectionString)}' is not an AMQP URI; use amqp://user:password@host:port (optionally /vhost).");
        }

        return uri;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _supervisor = Task.Run(() => SuperviseAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task AppendAsync(ReadOnlyMemory<byte> entry, CancellationToken cancellationToken)
    {
        var session = Volatile.Read(ref _session) ?? throw new LogUnavailableException(_availability.Detail);
        var properties = new BasicProperties
        {
            ContentType = "application/x-protobuf",
            Type = "aspirekv.log.v1.LogEntry",
            AppId = _nodeId,
            DeliveryMode = DeliveryModes.Persistent,
        };
        try
        {
            // Completes on the broker's confirm: for a stream, once the entry is written (and
            // replicated to a quorum where there are replicas).
            await session.Publisher.BasicPublishAsync(_options.Exchange, string.Empty, mandatory: true, properties, entry, cancellationToken).ConfigureAwait(false);
        }
        catch (PublishException ex)
        {
            throw new LogUnavailableException(ex.IsReturn
                ? $"RabbitMQ could not route the entry: nothing is bound to exchange '{_options.Exchange}'."
                : "RabbitMQ refused the entry (negative confirm).", ex);
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
        {
            throw new LogUnavailableException($"the connection to RabbitMQ at {Endpoint} was lost before the entry was confirmed", ex);
        }
    }

    public async IAsyncEnumerable<LogRecord> ReadAsync(long fromOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = fromOffset;
        while (true)
        {
            await using var subscription = await SubscribeAsync(next, cancellationToken).ConfigureAwait(false);
            var first = true;
            while (await subscription.NextBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
            {
                foreach (var delivery in batch)
                {
                    if (first)
                    {
                        first = false;

                        // A numeric offset the stream no longer holds is silently moved to its
                        // start: a first delivery past what was asked for means the entries in
                        // between were truncated.
                        if (delivery.Offset > next)
                        {
                            throw new LogTruncatedException(next, delivery.Offset);
                        }
                    }

                    // Deliveries start at the beginning of a chunk, which can be before the offset asked for.
                    if (delivery.Offset < next)
                    {
                        continue;
                    }

                    yield return new LogRecord(delivery.Offset, delivery.Body);
                    next = delivery.Offset + 1;
                }

                await subscription.AckAsync(batch[^1].Tag).ConfigureAwait(false);
            }

            _logger.LogInformation("The stream consumer stopped; subscribing again from offset {Offset}.", next);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        await _supervisor.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task SuperviseAsync(CancellationToken stopping)
    {
        var delay = _options.ReconnectDelay;
        var everConnected = false;
        while (!stopping.IsCancellationRequested)
        {
            IConnection? connection = null;
            try
            {
                connection = await _factory.CreateConnectionAsync(stopping).ConfigureAwait(false);
                var closed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                connection.ConnectionShutdownAsync += (_, args) =>
                {
                    closed.TrySetResult(args.ReplyText);
                    return Task.CompletedTask;
                };
                await DeclareTopologyAsync(connection, stopping).ConfigureAwait(false);
                var publisher = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), stopping).ConfigureAwait(false);

                if (everConnected)
                {
                    Interlocked.Increment(ref _reconnects);
                }

                everConnected = true;
                delay = _options.ReconnectDelay;
                SetSession(new Session(connection, publisher), LogAvailability.Available);
                _logger.LogInformation("Connected to RabbitMQ at {Endpoint}; the log is stream '{Stream}'.", Endpoint, _options.Stream);

                var reason = await closed.Task.WaitAsync(stopping).ConfigureAwait(false);
                SetSession(null, new LogAvailability(false, $"the connection to RabbitMQ at {Endpoint} was lost ({reason}); reconnecting"));
                _logger.LogWarning("Lost the connection to RabbitMQ at {Endpoint}: {Reason}. Reconnecting.", Endpoint, reason);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                SetSession(null, new LogAvailability(false, $"RabbitMQ at {Endpoint} is unreachable ({ex.Message}); retrying"));
                _logger.LogWarning("Cannot use RabbitMQ at {Endpoint}: {Error}. Retrying in {Delay} ms.", Endpoint, ex.Message, delay.TotalMilliseconds);
            }
            finally
            {
                if (connection is not null)
                {
                    await CloseQuietlyAsync(connection).ConfigureAwait(false);
                }
            }

            try
            {
                await Task.Delay(delay, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
        }

        SetSession(null, new LogAvailability(false, "the node is shutting down"));
    }

    private async Task DeclareTopologyAsync(IConnection connection, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.ExchangeDeclareAsync(_options.Exchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        var arguments = new Dictionary<string, object?> { ["x-queue-type"] = "stream" };
        if (_options.StreamMaxLengthBytes is { } maxLength)
        {
            arguments["x-max-length-bytes"] = maxLength;
        }

        if (_options.StreamMaxSegmentSizeBytes is { } segment)
        {
            arguments["x-stream-max-segment-size-bytes"] = segment;
        }

        try
        {
            await channel.QueueDeclareAsync(_options.Stream, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406)
        {
            throw new InvalidOperationException(
                $"queue '{_options.Stream}' exists with other arguments than this node declares ({ex.ShutdownReason.ReplyText}); " +
                "every node must use the same Replication settings, and the queue must be a stream", ex);
        }

        await channel.QueueBindAsync(_options.Stream, _options.Exchange, string.Empty, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits for a connection, then starts a consumer at <paramref name="offset"/>; retries until it has one.</summary>
    private async Task<Subscription> SubscribeAsync(long offset, CancellationToken cancellationToken)
    {
        while (true)
        {
            var session = await WaitForSessionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await Subscription.StartAsync(session.Connection, _options, offset, _logger, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _logger.LogWarning("Could not subscribe to stream '{Stream}' at offset {Offset}: {Error}", _options.Stream, offset, ex.Message);
                await Task.Delay(_options.ReconnectDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<Session> WaitForSessionAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_sessionGate)
            {
                if (_session is { Connection.IsOpen: true } session)
                {
                    return session;
                }

                changed = _sessionChanged.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void SetSession(Session? session, LogAvailability availability)
    {
        TaskCompletionSource changed;
        lock (_sessionGate)
        {
            _session = session;
            _availability = availability;
            changed = _sessionChanged;
            _sessionChanged = NewSignal();
        }

        changed.TrySetResult();
    }

    private static async Task CloseQuietlyAsync(IConnection connection)
    {
        try
        {
            await connection.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already gone.
        }

        connection.Dispose();
    }

    private static string Redact(string connectionString) =>
        Uri.TryCreate(connectionString, UriKind.Absolute, out var uri) && !string.IsNullOrEmpty(uri.UserInfo)
            ? connectionString.Replace(uri.UserInfo, "***", StringComparison.Ordinal)
            : connectionString;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record Session(IConnection Connection, IChannel Publisher);

    /// <summary>One stream consumer on its own channel, handing deliveries over in batches.</summary>
    private sealed class Subscription : IAsyncDisposable
    {
        private readonly IChannel _channel;
        private readonly Channel<Delivery> _deliveries = System.Threading.Channels.Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true });
        private readonly List<Delivery> _batch = [];

        private Subscription(IChannel channel) => _channel = channel;

        public static async Task<Subscription> StartAsync(IConnection connection, RabbitMqLogOptions options, long offset, ILogger logger, CancellationToken cancellationToken)
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var subscription = new Subscription(channel);
            try
            {
                channel.ChannelShutdownAsync += (_, _) =>
                {
                    subscription._deliveries.Writer.TryComplete();
                    return Task.CompletedTask;
                };

                // A stream consumer needs a prefetch above zero and manual acks.
                await channel.BasicQosAsync(0, options.Prefetch, false, cancellationToken).ConfigureAwait(false);
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += (_, delivery) =>
                {
                    if (ReadOffset(delivery.BasicProperties.Headers) is { } at)
                    {
                        // The body belongs to the client only during this callback: copy it.
                        subscription._deliveries.Writer.TryWrite(new Delivery(delivery.DeliveryTag, at, delivery.Body.ToArray()));
                    }
                    else
                    {
                        logger.LogError("A delivery from the stream has no x-stream-offset header; it is ignored.");
                    }

                    return Task.CompletedTask;
                };
                consumer.UnregisteredAsync += (_, _) =>
                {
                    subscription._deliveries.Writer.TryComplete();
                    return Task.CompletedTask;
                };
                await channel.BasicConsumeAsync(
                    options.Stream, autoAck: false, consumerTag: string.Empty, noLocal: false, exclusive: false,
                    arguments: new Dictionary<string, object?> { ["x-stream-offset"] = offset }, consumer, cancellationToken).ConfigureAwait(false);
                return subscription;
            }
            catch
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>The deliveries that have arrived, waiting for at least one; null when the consumer has stopped.</summary>
        public async Task<List<Delivery>?> NextBatchAsync(CancellationToken cancellationToken)
        {
            _batch.Clear();
            var reader = _deliveries.Reader;
            if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            while (_batch.Count < 1000 && reader.TryRead(out var delivery))
            {
                _batch.Add(delivery);
            }

            return _batch;
        }

        /// <summary>Acknowledges everything up to <paramref name="tag"/> at once, which grants the consumer more credit.</summary>
        public async Task AckAsync(ulong tag)
        {
            try
            {
                await _channel.BasicAckAsync(tag, multiple: true).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
            {
                // The channel is gone; the next batch read notices and the consumer starts over.
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (_channel.IsOpen)
                {
                    await _channel.CloseAsync().ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
                // Already gone.
            }

            _channel.Dispose();
        }

        private static long? ReadOffset(IDictionary<string, object?>? headers) =>
            headers is not null && headers.TryGetValue("x-stream-offset", out var value)
                ? value switch
                {
                    long l => l,
                    int i => i,
                    _ => null,
                }
                : null;
    }

    private readonly record struct Delivery(ulong Tag, long Offset, byte[] Body);
}
