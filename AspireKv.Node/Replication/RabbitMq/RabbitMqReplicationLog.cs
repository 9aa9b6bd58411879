using System.Runtime.CompilerServices;
using RabbitMQ.Client;
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
public sealed partial class RabbitMqReplicationLog : IReplicationLog
{
    /// <summary>How long a resume waits for the entry it asked for before it checks where the log ends.</summary>
    private static readonly TimeSpan ResumeCheckDelay = TimeSpan.FromSeconds(2);

    private readonly ConnectionFactory _factory;
    private readonly BrokerAddresses _brokers;
    private readonly ReplicationOptions _options;
    private readonly string _nodeId;
    private readonly ILogger<RabbitMqReplicationLog> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly LogSessions<Session> _sessions;
    private Task _supervisor = Task.CompletedTask;
    private long _reconnects;
    private int _nextBroker;
    private volatile string _endpoint;

    /// <param name="brokers">Every broker of <c>ConnectionStrings:{name}</c>.</param>
    /// <param name="factory">
    /// The connection factory Aspire.RabbitMQ.Client configured (its <c>Aspire:RabbitMQ:Client</c>
    /// settings, the first broker's URI), with <see cref="ConfigureFactory"/> applied: the log
    /// connects to one broker of the list at a time with it.
    /// </param>
    /// <param name="options">The <c>Replication</c> settings.</param>
    /// <param name="nodeId">This node's id.</param>
    /// <param name="logger">Where sessions, resumes and failures are logged.</param>
    public RabbitMqReplicationLog(BrokerAddresses brokers, ConnectionFactory factory, ReplicationOptions options, string nodeId, ILogger<RabbitMqReplicationLog> logger)
    {
        _options = options;
        _nodeId = nodeId;
        _logger = logger;
        _brokers = brokers;
        _factory = factory;
        _nextBroker = StartingBroker(nodeId, _brokers.Endpoints.Count);
        _endpoint = Describe(_brokers.Endpoints[_nextBroker]);
        _sessions = new($"connecting to RabbitMQ at {Endpoint}");
    }

    /// <summary>
    /// What the log needs of a connection factory, over what configuration says: no automatic
    /// recovery (the supervisor replaces a lost session, and resumes at its own offset), and the
    /// node's heartbeat and connect timeouts.
    /// </summary>
    public static void ConfigureFactory(ConnectionFactory factory, ReplicationOptions options, string nodeId)
    {
        factory.AutomaticRecoveryEnabled = false;
        factory.TopologyRecoveryEnabled = false;
        factory.ClientProvidedName = $"aspirekv {nodeId}";
        factory.RequestedHeartbeat = options.Heartbeat;
        factory.RequestedConnectionTimeout = options.ConnectTimeout;
        factory.HandshakeContinuationTimeout = options.ConnectTimeout;
        factory.ContinuationTimeout = options.ConnectTimeout;
    }

    /// <summary>host:port of the broker in use (or tried last), for messages.</summary>
    public string Endpoint => _endpoint;

    /// <summary>How many brokers the connection string lists.</summary>
    public int BrokerCount => _brokers.Endpoints.Count;

    /// <summary>How many times the connection was re-established after it was lost.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    public long CurrentSession => _sessions.Count;

    public LogAvailability Availability
    {
        get
        {
            var (session, detail, sessions) = _sessions.Current;
            if (session is null)
            {
                return new LogAvailability(false, detail, sessions) { HasSession = false };
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
        var (session, detail, sessions) = _sessions.Current;
        if (session is null)
        {
            throw new LogUnavailableException(detail, sessions);
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

    public Task WaitForSessionAsync(long afterSession, CancellationToken cancellationToken) =>
        _sessions.WaitAsync(s => s.Number > afterSession, cancellationToken);

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
}
