using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace AspireKv.Node.Replication.RabbitMq;

/// <summary>
/// The log as a RabbitMQ stream: nodes publish to the fanout exchange <c>aspirekv.commands</c>,
/// which feeds the durable stream <c>aspirekv.log</c>; every node consumes the stream from the
/// entry it applied last. A stream has one writer, so every consumer sees one order across all
/// publishers, and it keeps what was published while a node was away.
/// The connection is supervised here rather than by the client's automatic recovery, because
/// that would re-subscribe with the original <c>x-stream-offset</c> and replay from there. Each
/// connection is a session: a lost connection, a publishing channel the broker closed, or an
/// unroutable entry ends it, and the next attempt starts a new one (bounded in time, logged with
/// its cause) after a short backoff.
/// With a cluster's list of brokers, a node starts at a broker picked by its id (so that the
/// nodes spread over the brokers), and a lost session moves it on to the next broker in the list.
/// </summary>
public sealed class RabbitMqReplicationLog : IReplicationLog
{
    /// <summary>How long a resume waits for the entry it asked for before it checks where the log ends.</summary>
    private static readonly TimeSpan ResumeCheckDelay = TimeSpan.FromSeconds(2);

    private readonly ConnectionFactory _factory;
    private readonly BrokerAddresses _brokers;
    private readonly ReplicationOptions _options;
    private readonly string _nodeId;
    private readonly ILogger<RabbitMqReplicationLog> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _sessionGate = new();
    private Session? _session;
    private long _sessions;
    private string _detail;
    private TaskCompletionSource _sessionChanged = NewSignal();
    private Task _supervisor = Task.CompletedTask;
    private long _reconnects;
    private int _nextBroker;
    private volatile string _endpoint;

    public RabbitMqReplicationLog(string connectionString, ReplicationOptions options, string nodeId, ILogger<RabbitMqReplicationLog> logger)
    {
        _options = options;
        _nodeId = nodeId;
        _logger = logger;
        _brokers = BrokerAddresses.Parse(connectionString, options.ConnectionName);
        _factory = new ConnectionFactory
        {
            Uri = _brokers.First,
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            ClientProvidedName = $"aspirekv {nodeId}",
            RequestedHeartbeat = options.Heartbeat,
            RequestedConnectionTimeout = options.ConnectTimeout,
            HandshakeContinuationTimeout = options.ConnectTimeout,
            ContinuationTimeout = options.ConnectTimeout,
        };
        _nextBroker = StartingBroker(nodeId, _brokers.Endpoints.Count);
        _endpoint = Describe(_brokers.Endpoints[_nextBroker]);
        _detail = $"connecting to RabbitMQ at {Endpoint}";
    }

    /// <summary>host:port of the broker in use (or tried last), for messages.</summary>
    public string Endpoint => _endpoint;

    /// <summary>How many brokers the connection string lists.</summary>
    public int BrokerCount => _brokers.Endpoints.Count;

    /// <summary>How many times the connection was re-established after it was lost.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    public LogAvailability Availability
    {
        get
        {
            Session? session;
            string detail;
            long sessions;
            lock (_sessionGate)
            {
                session = _session;
                detail = _detail;
                sessions = _sessions;
            }

            if (session is null)
            {
                return new LogAvailability(false, detail, sessions);
            }

            if (session.BlockedReason is { } blocked)
            {
                return new LogAvailability(false, $"RabbitMQ at {Endpoint} is blocking publishers ({blocked}): it has raised a memory or disk alarm", session.Number);
            }

            if (session.OldestUnconfirmed() is { } waiting && waiting > _options.ConfirmStallTimeout)
            {
                return new LogAvailability(false, $"RabbitMQ at {Endpoint} has not confirmed an entry for {waiting.TotalSeconds:F0} s: the broker or the network to it has stalled", session.Number);
            }

            return LogAvailability.Available(session.Number);
        }
    }

    public string Destination => _options.Exchange;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _supervisor = Task.Run(() => SuperviseAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task AppendAsync(ReadOnlyMemory<byte> entry, CancellationToken cancellationToken)
    {
        Session? session;
        string detail;
        lock (_sessionGate)
        {
            session = _session;
            detail = _detail;
        }

        if (session is null)
        {
            throw new LogUnavailableException(detail, Interlocked.Read(ref _sessions));
        }

        if (session.BlockedReason is { } blocked)
        {
            // Anything written to a blocked connection waits in it, and lands once the alarm clears,
            // long after its callers gave up: refuse instead.
            throw new LogUnavailableException($"RabbitMQ at {Endpoint} is blocking publishers ({blocked})", session.Number);
        }

        var properties = new BasicProperties
        {
            ContentType = "application/x-protobuf",
            Type = "aspirekv.log.v1.LogEntry",
            AppId = _nodeId,
            DeliveryMode = DeliveryModes.Persistent,
        };
        var publish = session.Track();
        try
        {
            // Completes on the broker's confirm: for a stream, once the entry is written (and
            // replicated to a quorum where there are replicas).
            await session.Publisher.BasicPublishAsync(_options.Exchange, string.Empty, mandatory: true, properties, entry, cancellationToken).ConfigureAwait(false);
        }
        catch (PublishException ex)
        {
            var reason = ex.IsReturn
                ? $"RabbitMQ could not route the entry: nothing is bound to exchange '{_options.Exchange}'"
                : "RabbitMQ refused the entry (negative confirm)";
            session.End(reason); // declare the topology again in a new session
            throw new LogUnavailableException(reason, session.Number, ex);
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
        {
            throw new LogUnavailableException($"the connection to RabbitMQ at {Endpoint} was lost before the entry was confirmed", session.Number, ex);
        }
        finally
        {
            session.Untrack(publish);
        }
    }

    public async Task WaitForSessionAsync(long afterSession, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_sessionGate)
            {
                if (_session is { } session && session.Number > afterSession)
                {
                    return;
                }

                changed = _sessionChanged.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async IAsyncEnumerable<LogRecord> ReadAsync(long resumeAfter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The entry to resume at: the one applied last (its redelivery proves the log still holds
        // it), or the log's first for a node that has applied nothing.
        var resume = resumeAfter;
        while (true)
        {
            var from = Math.Max(resume, 0);
            await using var subscription = await SubscribeAsync(from, cancellationToken).ConfigureAwait(false);
            var first = true;
            while (true)
            {
                if (first && resume >= 0 && !await subscription.WaitAsync(ResumeCheckDelay, cancellationToken).ConfigureAwait(false))
                {
                    // An offset past the end of the log is never delivered, not even once new
                    // entries come: check that the log still reaches the entry applied last.
                    var last = await LastOffsetAsync(subscription.Connection, resume, cancellationToken).ConfigureAwait(false);
                    if (last < resume)
                    {
                        throw new LogDivergedException(resume, last);
                    }

                    continue;
                }

                if (await subscription.NextBatchAsync(cancellationToken).ConfigureAwait(false) is not { } batch)
                {
                    break;
                }

                foreach (var delivery in batch)
                {
                    if (first)
                    {
                        first = false;

                        // A numeric offset the stream no longer holds is silently moved to its
                        // start. The entry asked for is a real one (applied before, or the first),
                        // so a first delivery past it means the log was truncated under this node.
                        // Later gaps are the stream's own bookkeeping (a chunk it writes when a
                        // segment rolls, which consumers never see), not lost entries.
                        if (delivery.Offset > from)
                        {
                            throw new LogTruncatedException(from, delivery.Offset);
                        }
                    }

                    // Deliveries start at the beginning of a chunk, which can be before the offset asked for.
                    if (delivery.Offset < from)
                    {
                        continue;
                    }

                    yield return new LogRecord(delivery.Offset, delivery.Body);
                    resume = delivery.Offset;
                }

                await subscription.AckAsync(batch[^1].Tag).ConfigureAwait(false);
            }

            _logger.LogInformation("The stream consumer stopped; subscribing again at offset {Offset}.", resume);
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
                connection = await ConnectAsync(stopping).ConfigureAwait(false);
                var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                connection.ConnectionShutdownAsync += (_, args) =>
                {
                    ended.TrySetResult($"the connection was closed: {Describe(args)}");
                    return Task.CompletedTask;
                };
                await DeclareTopologyAsync(connection, stopping).ConfigureAwait(false);
                var publisher = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), stopping).ConfigureAwait(false);
                publisher.ChannelShutdownAsync += (_, args) =>
                {
                    // A channel-level error (for example a publish to a missing exchange) closes only
                    // the channel; every later publish would fail on it. End the session instead.
                    ended.TrySetResult($"the broker closed the publishing channel: {Describe(args)}");
                    return Task.CompletedTask;
                };

                var session = new Session(connection, publisher, Interlocked.Increment(ref _sessions), ended);
                connection.ConnectionBlockedAsync += (_, args) =>
                {
                    session.BlockedReason = args.Reason;
                    _logger.LogWarning("RabbitMQ at {Endpoint} is blocking publishers ({Reason}): writes fail until it lifts the alarm.", Endpoint, args.Reason);
                    return Task.CompletedTask;
                };
                connection.ConnectionUnblockedAsync += (_, _) =>
                {
                    session.BlockedReason = null;
                    _logger.LogInformation("RabbitMQ at {Endpoint} takes writes again.", Endpoint);
                    return Task.CompletedTask;
                };

                if (everConnected)
                {
                    Interlocked.Increment(ref _reconnects);
                }

                everConnected = true;
                delay = _options.ReconnectDelay;
                SetSession(session, string.Empty);
                _logger.LogInformation("Connected to RabbitMQ at {Endpoint}; the log is stream '{Stream}'.", Endpoint, _options.Stream);

                var reason = await ended.Task.WaitAsync(stopping).ConfigureAwait(false);
                SetSession(null, $"the connection to RabbitMQ at {Endpoint} was lost ({reason}); reconnecting");
                _logger.LogWarning("Lost the connection to RabbitMQ at {Endpoint}: {Reason}. Reconnecting{Where}.", Endpoint, reason, BrokerCount > 1 ? ", to the next broker first" : string.Empty);
                _nextBroker = (_nextBroker + 1) % BrokerCount;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var cause = Cause(ex);
                SetSession(null, $"RabbitMQ at {Endpoint} is unreachable ({cause}); retrying");
                _logger.LogWarning("Cannot use RabbitMQ at {Endpoint}: {Cause}. Retrying in {Delay} ms.", Endpoint, cause, delay.TotalMilliseconds);
                _nextBroker = (_nextBroker + 1) % BrokerCount;
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

        SetSession(null, "the node is shutting down");
    }

    /// <summary>
    /// One connection attempt to the broker whose turn it is, TCP and AMQP handshake together,
    /// bounded by <see cref="ReplicationOptions.ConnectTimeout"/>. A failure moves the turn on, so
    /// that with a cluster the next attempt tries another broker.
    /// </summary>
    private async Task<IConnection> ConnectAsync(CancellationToken stopping)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        attempt.CancelAfter(_options.ConnectTimeout);
        var started = Stopwatch.GetTimestamp();
        var broker = _brokers.Endpoints[_nextBroker];
        _endpoint = Describe(broker);
        _logger.LogDebug("Connecting to RabbitMQ at {Endpoint}.", Endpoint);
        try
        {
            return await _factory.CreateConnectionAsync([broker], _factory.ClientProvidedName, attempt.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested && (attempt.IsCancellationRequested || Stopwatch.GetElapsedTime(started) >= _options.ConnectTimeout))
        {
            throw new TimeoutException(
                $"connecting timed out after {_options.ConnectTimeout.TotalSeconds:0.#} s: the broker did not complete the connection and AMQP handshake (a network partition, or a broker that does not answer)", ex);
        }
    }

    private async Task DeclareTopologyAsync(IConnection connection, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(_options.ConnectTimeout);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: attempt.Token).ConfigureAwait(false);
        await channel.ExchangeDeclareAsync(_options.Exchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: attempt.Token).ConfigureAwait(false);
        var arguments = new Dictionary<string, object?> { ["x-queue-type"] = "stream" };
        if ((_options.StreamReplicas ?? BrokerCount) is > 1 and var replicas)
        {
            // A replica on each broker: a confirm then means a majority of them has written the entry.
            arguments["x-initial-cluster-size"] = replicas;
        }

        if (_options.StreamMaxLengthBytes > 0)
        {
            arguments["x-max-length-bytes"] = _options.StreamMaxLengthBytes;
        }

        if (_options.StreamMaxSegmentSizeBytes > 0)
        {
            arguments["x-stream-max-segment-size-bytes"] = _options.StreamMaxSegmentSizeBytes;
        }

        try
        {
            await channel.QueueDeclareAsync(_options.Stream, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: attempt.Token).ConfigureAwait(false);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406 && FixedAtCreation(ex.ShutdownReason.ReplyText) is { } argument)
        {
            // Retention and replica count are fixed when a stream is created (a policy changes
            // them later): a stream made with other values, by an older version or other
            // settings, is still the log. Use it as it is; the failed declare closed the channel.
            _logger.LogWarning(
                "Stream '{Stream}' exists with another {Argument} than this node's settings give; the node uses it as it is. " +
                "Retention and replica count are fixed when a stream is created: change them with a RabbitMQ policy. ({Reply})",
                _options.Stream, argument, ex.ShutdownReason.ReplyText);
            await using var passive = await connection.CreateChannelAsync(cancellationToken: attempt.Token).ConfigureAwait(false);
            await passive.QueueDeclarePassiveAsync(_options.Stream, attempt.Token).ConfigureAwait(false);
            await passive.QueueBindAsync(_options.Stream, _options.Exchange, string.Empty, cancellationToken: attempt.Token).ConfigureAwait(false);
            return;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406)
        {
            throw new InvalidOperationException(
                $"queue '{_options.Stream}' exists with other arguments than this node declares ({ex.ShutdownReason.ReplyText}); " +
                "every node must use the same Replication settings, and the queue must be a stream", ex);
        }

        await channel.QueueBindAsync(_options.Stream, _options.Exchange, string.Empty, cancellationToken: attempt.Token).ConfigureAwait(false);
    }

    /// <summary>Waits for a connection, then starts a consumer at <paramref name="offset"/>; retries until it has one.</summary>
    private async Task<Subscription> SubscribeAsync(long offset, CancellationToken cancellationToken)
    {
        while (true)
        {
            var session = await WaitForAnySessionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await Subscription.StartAsync(session.Connection, _options, offset, _logger, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _logger.LogWarning("Could not subscribe to stream '{Stream}' at offset {Offset}: {Error}", _options.Stream, offset, Cause(ex));
                await Task.Delay(_options.ReconnectDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Whether the log reaches <paramref name="offset"/>: read from a short-lived consumer at
    /// <c>last</c> (the start of the last chunk). Returns the highest offset seen, -1 for an empty log.
    /// </summary>
    private async Task<long> LastOffsetAsync(IConnection connection, long offset, CancellationToken cancellationToken)
    {
        await using var probe = await Subscription.StartAsync(connection, _options, "last", _logger, cancellationToken).ConfigureAwait(false);
        var last = -1L;
        var wait = TimeSpan.FromSeconds(3);
        while (last < offset && await probe.WaitAsync(wait, cancellationToken).ConfigureAwait(false) && await probe.NextBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
        {
            last = Math.Max(last, batch.Max(d => d.Offset));
            wait = TimeSpan.FromMilliseconds(300); // the rest of the last chunk comes at once
        }

        return last;
    }

    private async Task<Session> WaitForAnySessionAsync(CancellationToken cancellationToken)
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

    private void SetSession(Session? session, string detail)
    {
        TaskCompletionSource changed;
        lock (_sessionGate)
        {
            _session = session;
            _detail = detail;
            changed = _sessionChanged;
            _sessionChanged = NewSignal();
        }

        changed.TrySetResult();
    }

    /// <summary>Why a connection or channel ended, in words: who closed it, and the real cause (a missed heartbeat is not a clean close).</summary>
    private string Describe(ShutdownEventArgs args)
    {
        if (args.Exception is EndOfStreamException { Message: var missed } && missed.StartsWith("Heartbeat missing", StringComparison.Ordinal))
        {
            return $"no heartbeat from the broker for about {3 * _options.Heartbeat.TotalSeconds:0.#} s: the broker or the network to it stopped answering";
        }

        var who = args.Initiator switch
        {
            ShutdownInitiator.Peer => "the broker closed it",
            ShutdownInitiator.Library => "the client library closed it",
            _ => "this node closed it",
        };
        var cause = args.Exception is { } ex ? $"; {Cause(ex)}" : string.Empty;
        return $"{who} ({args.ReplyCode} {args.ReplyText}){cause}";
    }

    private static string Cause(Exception ex)
    {
        var messages = new List<string>();
        for (var e = ex; e is not null && messages.Count < 3; e = e.InnerException)
        {
            if (!messages.Contains(e.Message))
            {
                messages.Add(e.Message);
            }
        }

        return string.Join(": ", messages);
    }

    private static async Task CloseQuietlyAsync(IConnection connection)
    {
        try
        {
            // Bounded: behind a partition a clean close would never be answered.
            await connection.AbortAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already gone.
        }

        connection.Dispose();
    }

    /// <summary>The stream argument a declare was refused over, when it is one fixed at creation (retention, replica count); null otherwise.</summary>
    internal static string? FixedAtCreation(string replyText)
    {
        string[] fixedAtCreation = ["x-max-length-bytes", "x-stream-max-segment-size-bytes", "x-initial-cluster-size", "x-max-age"];
        return fixedAtCreation.FirstOrDefault(a => replyText.Contains($"inequivalent arg '{a}'", StringComparison.Ordinal));
    }

    private static string Describe(AmqpTcpEndpoint broker) => $"{broker.HostName}:{broker.Port}";

    /// <summary>
    /// The broker a node tries first: from its id, the same on every start. Ids that differ only in
    /// their last character (node1, node2, node3) get consecutive brokers.
    /// </summary>
    private static int StartingBroker(string nodeId, int brokers)
    {
        var hash = 0u;
        foreach (var c in nodeId)
        {
            hash = unchecked((hash * 31) + c);
        }

        return (int)(hash % (uint)brokers);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One connection and its publishing channel, numbered, with what waits for a confirm on it.</summary>
    private sealed class Session(IConnection connection, IChannel publisher, long number, TaskCompletionSource<string> ended)
    {
        private readonly Dictionary<long, long> _unconfirmed = [];
        private long _next;

        public IConnection Connection { get; } = connection;

        public IChannel Publisher { get; } = publisher;

        public long Number { get; } = number;

        /// <summary>Why the broker blocks this connection's publishes (a resource alarm); null while it does not.</summary>
        public volatile string? BlockedReason;

        public long Track()
        {
            lock (_unconfirmed)
            {
                _unconfirmed[++_next] = Stopwatch.GetTimestamp();
                return _next;
            }
        }

        public void Untrack(long publish)
        {
            lock (_unconfirmed)
            {
                _unconfirmed.Remove(publish);
            }
        }

        /// <summary>How long the oldest publish has waited for its confirm; null when none waits.</summary>
        public TimeSpan? OldestUnconfirmed()
        {
            lock (_unconfirmed)
            {
                return _unconfirmed.Count == 0 ? null : Stopwatch.GetElapsedTime(_unconfirmed.Values.Min());
            }
        }

        /// <summary>Ends the session from this side; the supervisor then connects again.</summary>
        public void End(string reason) => ended.TrySetResult(reason);
    }

    /// <summary>One stream consumer on its own channel, handing deliveries over in batches.</summary>
    private sealed class Subscription : IAsyncDisposable
    {
        private readonly IChannel _channel;
        private readonly Channel<Delivery> _deliveries = System.Threading.Channels.Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true });
        private readonly List<Delivery> _batch = [];

        private Subscription(IConnection connection, IChannel channel)
        {
            Connection = connection;
            _channel = channel;
        }

        public IConnection Connection { get; }

        public static async Task<Subscription> StartAsync(IConnection connection, ReplicationOptions options, object offset, ILogger logger, CancellationToken cancellationToken)
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var subscription = new Subscription(connection, channel);
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

        /// <summary>True once a delivery waits (or the consumer has stopped); false when <paramref name="timeout"/> passed first.</summary>
        public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(timeout);
            try
            {
                await _deliveries.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
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
