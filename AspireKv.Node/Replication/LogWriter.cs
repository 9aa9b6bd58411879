using System.Diagnostics;
using System.Threading.Channels;
using AspireKv.Node.Commands;
using AspireKv.Node.Diagnostics;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using OpenTelemetry;

namespace AspireKv.Node.Replication;

/// <summary>Where the proposer stands in the log when it builds an entry; stamped on the entry.</summary>
public readonly record struct WriterStamp(long AppliedOffset, ByteString LogIdentity, long RememberedFrom)
{
    /// <summary>Whether every replica still remembers the ids of an entry first built at <paramref name="proposerAppliedOffset"/> (see <see cref="DedupWindow"/>).</summary>
    public bool Covers(long proposerAppliedOffset) => proposerAppliedOffset + 1 >= RememberedFrom;
}

/// <summary>
/// Puts proposals into the log: it gathers concurrent proposals (and at most one read barrier)
/// into one entry while the previous entry awaits its confirm, publishes it, and sends it again
/// after a lost connection, in a newer session, for as long as someone waits for it. It never
/// publishes a command nobody waits for any more, it refuses proposals beyond a bounded queue,
/// and it does not send again an entry so old that a replica might no longer recognise it as a duplicate.
/// An entry the broker has not confirmed within <see cref="ReplicationOptions.ConfirmStallTimeout"/>
/// (a cluster that lost its majority, a stalled broker) fails its callers with UNAVAILABLE at
/// once, rather than at their deadlines: its outcome is unknown, and it is not sent again.
/// </summary>
public sealed class LogWriter
{
    private readonly IReplicationLog _log;
    private readonly PendingProposals _pending;
    private readonly ReplicationOptions _options;
    private readonly string _nodeId;
    private readonly Func<WriterStamp> _stamp;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<Command> _queue;
    private readonly SemaphoreSlim _appendSlots;
    private readonly SemaphoreSlim _barrierSlots;
    private readonly Channel<bool> _barrierRequests = Channel.CreateUnbounded<bool>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _barrierGate = new();
    private readonly List<PendingEntry> _awaitingConfirm = [];
    private Waiter? _nextBarrier;
    private int _queued;

    public LogWriter(IReplicationLog log, PendingProposals pending, ReplicationOptions options, string nodeId, Func<WriterStamp> stamp, TimeProvider time, ILogger logger)
    {
        _time = time;
        _log = log;
        _pending = pending;
        _options = options;
        _nodeId = nodeId;
        _stamp = stamp;
        _logger = logger;
        _appendSlots = new SemaphoreSlim(options.MaxAppendsInFlight);
        _barrierSlots = new SemaphoreSlim(options.MaxBarriersInFlight);

        // The queue holds proposals, counted against MaxQueuedProposals as they are queued, so that
        // a full queue refuses a write at once instead of making it wait. Barriers take their own path.
        _queue = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    }

    /// <summary>Turns an entry into bytes; the tests replace it to make it fail.</summary>
    internal Func<LogEntry, byte[]> Encode { get; init; } = LogCodec.Encode;

    /// <summary>Queues <paramref name="command"/> (giving it a fresh id) and waits until this node has applied it.</summary>
    public Task<CommandResult> ProposeAsync(Command command, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        command.Id = UnsafeByteOperations.UnsafeWrap(id.ToByteArray());
        var waiter = _pending.Add(id);
        waiter.TryJoin();
        if (Interlocked.Increment(ref _queued) > _options.MaxQueuedProposals)
        {
            Interlocked.Decrement(ref _queued);
            _pending.Fail(id, new ReplicaUnavailableException(
                $"Node {_nodeId} already has {_options.MaxQueuedProposals} writes waiting for the log (Replication:MaxQueuedProposals); the broker is not keeping up. Try again shortly, or another node.",
                refused: true));
        }
        else
        {
            _queue.Writer.TryWrite(command);
        }

        return waiter.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Completes once this node has applied a barrier that entered the log after the call began.
    /// Concurrent callers share one barrier.
    /// </summary>
    public Task BarrierAsync(CancellationToken cancellationToken)
    {
        Waiter barrier;
        var created = false;
        lock (_barrierGate)
        {
            if (_nextBarrier is null || !_nextBarrier.TryJoin())
            {
                _nextBarrier = _pending.Add(Guid.NewGuid());
                _nextBarrier.TryJoin();
                created = true;
            }

            barrier = _nextBarrier;
        }

        if (created)
        {
            // The barrier goes out on a path of its own, so that a read does not wait for the
            // confirm of a write entry in flight; an entry of writes built meanwhile takes it along.
            _barrierRequests.Writer.TryWrite(true);
        }

        return barrier.WaitAsync(cancellationToken);
    }

    /// <summary>The publish loops: writes, one entry per append slot, each carrying what gathered meanwhile; and read barriers.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(RunWritesAsync(cancellationToken), RunBarriersAsync(cancellationToken), WatchConfirmsAsync(cancellationToken));

    /// <summary>
    /// Fails the callers of every entry that has awaited its confirm for longer than
    /// <see cref="ReplicationOptions.ConfirmStallTimeout"/>. The entry may still land (the broker
    /// may confirm it later), so the error does not say "refused"; its commands are not sent again.
    /// </summary>
    private async Task WatchConfirmsAsync(CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromTicks(Math.Max(_options.ConfirmStallTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond));
        try
        {
            while (true)
            {
                await Task.Delay(period, _time, cancellationToken).ConfigureAwait(false);
                List<PendingEntry> stalled = [];
                var log = _log.Availability;
                lock (_awaitingConfirm)
                {
                    foreach (var entry in _awaitingConfirm.Where(e => e.PublishedAt is not 0))
                    {
                        if (!log.HasSession || entry.Session != log.Session)
                        {
                            // The session that carried it ended, and the log sends it again in its
                            // next one (the stream log does): it waits for the log, not a confirm.
                            (entry.PublishedAt, entry.Session) = (_time.GetTimestamp(), log.Session);
                        }
                        else if (_time.GetElapsedTime(entry.PublishedAt) >= _options.ConfirmStallTimeout)
                        {
                            stalled.Add(entry);
                        }
                    }
                }

                foreach (var entry in stalled)
                {
                    entry.PublishedAt = 0; // once
                    entry.Fail(_pending, new ReplicaUnavailableException(
                        $"Node {_nodeId} published the write, but the broker has not confirmed it within {_options.ConfirmStallTimeout.TotalSeconds:0.#} s: " +
                        "a RabbitMQ cluster that has lost its majority, or a broker or network that has stalled. It may or may not be applied; read the key to find out."));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Barrier-only entries, up to <see cref="ReplicationOptions.MaxBarriersInFlight"/> at once: a
    /// barrier needs only to enter the log after its reads began, not to follow any other entry, so
    /// it need not queue behind a write's confirm. Reads that arrive while the slots are busy share
    /// the next barrier.
    /// </summary>
    private async Task RunBarriersAsync(CancellationToken cancellationToken)
    {
        var requests = _barrierRequests.Reader;
        try
        {
            while (await requests.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (requests.TryRead(out _))
                {
                }

                await _barrierSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
                var entry = Seal(new LogEntry { Origin = _nodeId }, [], TakeBarrier());
                if (entry is null)
                {
                    _barrierSlots.Release();
                    continue;
                }

                _ = AppendAsync(entry, _barrierSlots, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunWritesAsync(CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                await _appendSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
                var entry = TakeEntry(reader);
                if (entry is null)
                {
                    _appendSlots.Release();
                    continue;
                }

                _ = AppendAsync(entry, _appendSlots, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Builds the next entry from what is queued and still waited for; null when there is nothing to send.</summary>
    private PendingEntry? TakeEntry(ChannelReader<Command> reader)
    {
        var entry = new LogEntry { Origin = _nodeId };
        var waiters = new List<Waiter>();
        var bytes = 0;

        // An entry closes before half the log's largest, so that its last command still fits.
        var limit = Math.Min(_options.MaxBatchBytes, _log.MaxEntryBytes / 2);
        while (entry.Commands.Count < _options.MaxBatchCommands && bytes < limit && reader.TryRead(out var command))
        {
            Interlocked.Decrement(ref _queued);
            if (_pending.TryGet(new Guid(command.Id.Span), out var waiter))
            {
                entry.Commands.Add(command);
                waiters.Add(waiter);
                bytes += command.CalculateSize();
            }
        }

        return Seal(entry, waiters, TakeBarrier());
    }

    /// <summary>The barrier that reads are gathering on, if any; from now on new reads gather on a new one.</summary>
    private Waiter? TakeBarrier()
    {
        lock (_barrierGate)
        {
            var barrier = _nextBarrier;
            _nextBarrier = null;
            return barrier;
        }
    }

    /// <summary>Adds the barrier (if still waited for) and stamps the entry; null when it holds nothing to send.</summary>
    private PendingEntry? Seal(LogEntry entry, List<Waiter> waiters, Waiter? barrier)
    {
        if (barrier is not null && _pending.IsWaited(barrier.Id))
        {
            entry.Commands.Add(new Command { Id = UnsafeByteOperations.UnsafeWrap(barrier.Id.ToByteArray()), Barrier = new BarrierOp() });
            waiters.Add(barrier);
        }

        if (entry.Commands.Count == 0)
        {
            return null;
        }

        var stamp = _stamp();
        entry.ProposerAppliedOffset = stamp.AppliedOffset;
        entry.LogIdentity = stamp.LogIdentity;
        entry.ProposedAtUnixMicros = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
        NodeDiagnostics.BatchSize.Record(entry.Commands.Count);
        return new PendingEntry(entry, waiters);
    }

    private async Task AppendAsync(PendingEntry pending, SemaphoreSlim slot, CancellationToken stopping)
    {
        var entry = pending.Entry;
        using var abandoned = pending.WhenAbandoned();
        using var token = CancellationTokenSource.CreateLinkedTokenSource(stopping, abandoned.Token);
        using var span = StartPublishSpan(entry);

        // An entry no traced call waits for (barriers of untraced reads) would show as a trace of its own.
        using var untraced = span is null ? SuppressInstrumentationScope.Begin() : null;
        lock (_awaitingConfirm)
        {
            _awaitingConfirm.Add(pending);
        }

        try
        {
            for (var attempt = 1; ; attempt++)
            {
                if (!pending.DropAbandoned(_pending))
                {
                    return; // everyone gave up: publish nothing
                }

                if (attempt > 1 && !_stamp().Covers(entry.ProposerAppliedOffset))
                {
                    // Its first copy may have landed so long ago that replicas forgot its command
                    // ids: a second copy could be applied twice. The state machine would refuse it
                    // anyway; not sending it saves the trip.
                    pending.Fail(_pending, new ReplicaUnavailableException(
                        $"Node {_nodeId} could not confirm the write and cannot send it again safely: the log has moved on too far since it was sent. It may or may not have been applied; read the key to find out."));
                    return;
                }

                try
                {
                    pending.Session = _log.CurrentSession;
                    pending.PublishedAt = _time.GetTimestamp();
                    await _log.AppendAsync(Encode(entry), token.Token).ConfigureAwait(false);
                    return;
                }
                catch (LogUnavailableException ex)
                {
                    pending.PublishedAt = 0;
                    // The entry may or may not be in the log. Whoever still waits gets it sent again
                    // in a new session (the state machine drops a command id it has applied).
                    _logger.LogInformation("Appending {Count} command(s) failed ({Reason}); sending them again when the log is back.", entry.Commands.Count, ex.Message);
                    span?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection { ["exception.message"] = ex.Message }));
                    await _log.WaitForSessionAsync(ex.Session, token.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (abandoned.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            span?.SetStatus(ActivityStatusCode.Error, "every caller gave up");
        }
        catch (Exception ex)
        {
            var reason = ex is OperationCanceledException ? "the node is shutting down" : $"appending to the log failed: {ex.Message}";
            span?.SetStatus(ActivityStatusCode.Error, reason);
            if (ex is not OperationCanceledException)
            {
                _logger.LogWarning("Appending {Count} command(s) to the log failed: {Reason}", entry.Commands.Count, reason);
            }

            // Commands that did reach the log may still be applied; their proposers hear of the failure either way.
            pending.Fail(_pending, new ReplicaUnavailableException($"Node {_nodeId} could not write to the log: {reason}"));
        }
        finally
        {
            lock (_awaitingConfirm)
            {
                _awaitingConfirm.Remove(pending);
            }

            slot.Release();
        }
    }

    /// <summary>The publish span, current while the append starts so that the broker client's span nests under it.</summary>
    private Activity? StartPublishSpan(LogEntry entry)
    {
        try
        {
            return NodeDiagnostics.StartPublish(entry, _log.Destination);
        }
        catch (Exception ex)
        {
            // Telemetry must never stop writes.
            _logger.LogDebug(ex, "Could not start the publish span.");
            return null;
        }
    }

    /// <summary>An entry on its way into the log, with the callers that wait for its commands.</summary>
    private sealed class PendingEntry(LogEntry entry, List<Waiter> waiters)
    {
        public LogEntry Entry { get; } = entry;

        private long _publishedAt;

        /// <summary>When the current publish of the entry began (a <see cref="TimeProvider"/> timestamp); 0 while none is awaiting its confirm.</summary>
        public long PublishedAt
        {
            get => Volatile.Read(ref _publishedAt);
            set => Volatile.Write(ref _publishedAt, value);
        }

        /// <summary>The log's session the current publish went out in.</summary>
        public long Session { get; set; }

        /// <summary>A token cancelled once every waiter of this entry has been abandoned.</summary>
        public CancellationTokenSource WhenAbandoned()
        {
            var abandoned = new CancellationTokenSource();
            var live = waiters.Count;
            foreach (var waiter in waiters)
            {
                waiter.OnAbandoned(() =>
                {
                    if (Interlocked.Decrement(ref live) == 0)
                    {
                        try
                        {
                            abandoned.Cancel();
                        }
                        catch (ObjectDisposedException)
                        {
                            // The append is over already.
                        }
                    }
                });
            }

            return abandoned;
        }

        /// <summary>Removes the commands nobody waits for any more; false when none is left.</summary>
        public bool DropAbandoned(PendingProposals pending)
        {
            for (var i = Entry.Commands.Count - 1; i >= 0; i--)
            {
                if (!pending.IsWaited(new Guid(Entry.Commands[i].Id.Span)))
                {
                    Entry.Commands.RemoveAt(i);
                }
            }

            return Entry.Commands.Count > 0;
        }

        public void Fail(PendingProposals pending, Exception error)
        {
            foreach (var command in Entry.Commands)
            {
                pending.Fail(new Guid(command.Id.Span), error);
            }
        }
    }
}
