using AspireKv.Node.Replication.RabbitMq;
using AspireKv.Streams;

namespace AspireKv.Node.Replication.Streams;

/// <summary>
/// The log as a RabbitMQ stream, over the broker's own stream protocol: every node publishes to
/// the stream <c>aspirekv.log</c> and reads it from the entry it applied last. A stream has one
/// writer, its leader, so every reader sees one order across all publishers.
/// Each node publishes as a named publisher (its id), and the broker drops a publish whose
/// publishing id is not above the highest it stored for that name. An entry keeps its publishing
/// id until it is confirmed: when a session ends first, the next one sends the entries still
/// waiting again, in id order and before anything new, so an entry that had landed is dropped by
/// the broker and one that had not lands once. The state machine's window of applied command ids
/// still guards what comes from elsewhere (a node's older process, another node).
/// A session is one connection, to the stream's leader where a configured endpoint reaches it
/// (the protocol's metadata names it), otherwise to any broker that holds a replica; a lost
/// connection, a silent one (heartbeats), the leader moving or a refused publish end it, and the
/// next attempt starts a new one after a short backoff.
/// </summary>
public sealed partial class StreamReplicationLog : IReplicationLog
{
    /// <summary>The one publisher a session declares.</summary>
    private const byte PublisherId = 0;

    /// <summary>How long a resume waits for the entry it asked for before it checks where the log ends.</summary>
    private static readonly TimeSpan ResumeCheckDelay = TimeSpan.FromSeconds(2);

    private readonly IReadOnlyList<StreamConnectionOptions> _brokers;
    private readonly ReplicationOptions _options;
    private readonly string _nodeId;
    private readonly ILogger<StreamReplicationLog> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _carryGate = new();
    private readonly List<PendingPublish> _carriedOver = [];
    private readonly LogSessions<Session> _sessions;
    private Task _supervisor = Task.CompletedTask;
    private long _reconnects;
    private int _nextBroker;
    private ulong _nextPublishingId = 1;
    private volatile int _maxEntryBytes = (1024 * 1024) - StreamConnection.PublishFraming - AmqpMessage.Overhead;
    private volatile string _endpoint;

    /// <param name="brokers">Every broker's stream port, with the credentials (<see cref="BrokerAddresses.StreamEndpoints"/>).</param>
    /// <param name="options">The <c>Replication</c> settings.</param>
    /// <param name="nodeId">This node's id: also its publisher's name, which the broker deduplicates by.</param>
    /// <param name="logger">Where sessions, resumes and failures are logged.</param>
    public StreamReplicationLog(IReadOnlyList<StreamConnectionOptions> brokers, ReplicationOptions options, string nodeId, ILogger<StreamReplicationLog> logger)
    {
        if (brokers.Count == 0)
        {
            throw new ArgumentException("The stream log needs at least one broker.", nameof(brokers));
        }

        _brokers = brokers.Select(b => b with
        {
            ClientName = $"aspirekv {nodeId}",
            Heartbeat = options.Heartbeat,
            ConnectTimeout = options.ConnectTimeout,
            RequestTimeout = options.ConnectTimeout,
        }).ToList();
        _options = options;
        _nodeId = nodeId;
        _logger = logger;
        _nextBroker = RabbitMqReplicationLog.StartingBroker(nodeId, _brokers.Count);
        _endpoint = _brokers[_nextBroker].Endpoint;
        _sessions = new($"connecting to RabbitMQ's stream port at {_endpoint}");
    }

    /// <summary>host:port of the broker in use (or tried last), for messages.</summary>
    public string Endpoint => _endpoint;

    public long Reconnects => Interlocked.Read(ref _reconnects);

    public int MaxEntryBytes => _maxEntryBytes;

    public string Destination => _options.Stream;

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

            if (session.OldestUnconfirmed() is { } waiting && waiting > _options.ConfirmStallTimeout)
            {
                return new LogAvailability(false, $"RabbitMQ at {Endpoint} has not confirmed an entry for {waiting.TotalSeconds:F0} s: it is blocking publishers (a memory or disk alarm), or it or the network to it has stalled", session.Number);
            }

            return LogAvailability.Available(session.Number);
        }
    }

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

        if (entry.Length > session.MaxEntryBytes)
        {
            throw new InvalidOperationException(
                $"an entry of {entry.Length} bytes is larger than the largest message RabbitMQ at {Endpoint} takes ({session.MaxEntryBytes} bytes): raise the broker's stream.frame_max");
        }

        var publish = new PendingPublish(AmqpMessage.Wrap(entry.Span));
        session.Publish(publish, () => _nextPublishingId++);
        try
        {
            // Completes on the broker's confirm, in this session or a later one that sent it again:
            // once the stream holds the entry (on a quorum of its replicas where it has them).
            await publish.Confirmed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Its caller gave up. Until the session ends it still counts as unconfirmed, so that a
            // stalled broker shows as one; a later session does not send it again.
            publish.Abandoned = true;
            throw;
        }
    }

    public Task WaitForSessionAsync(long afterSession, CancellationToken cancellationToken) =>
        _sessions.WaitAsync(s => !s.IsEnded && s.Number > afterSession, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        await _supervisor.ConfigureAwait(false);
        lock (_carryGate)
        {
            foreach (var publish in _carriedOver)
            {
                publish.Confirmed.TrySetException(new LogUnavailableException("the node is shutting down"));
            }

            _carriedOver.Clear();
        }

        _stopping.Dispose();
    }
}
