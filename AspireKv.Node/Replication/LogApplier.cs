using AspireKv.Node.Commands;
using AspireKv.Node.Diagnostics;
using AspireKv.Node.StateMachine;
using AspireKv.Node.Watching;

namespace AspireKv.Node.Replication;

/// <summary>
/// Reads the log from the entry this node applied last, checks that the log still holds that
/// very entry, and applies what follows to the state machine in offset order, handing each result
/// to the caller on this node that waits for it, and every revision it applies to the watches.
/// It owns the state: readers see it through <see cref="Read"/>, under the same lock.
/// When the log no longer holds what it needs (retention removed it), it installs a whole state
/// from its <see cref="IStateSource"/> (a peer's snapshot) and reads on from there; only when no
/// source can help does it stop serving, say why, and keep asking.
/// </summary>
public sealed class LogApplier
{
    private static readonly TimeSpan StateRetryDelay = TimeSpan.FromSeconds(5);
    private readonly IReplicationLog _log;
    private readonly IStateSource? _stateSource;
    private readonly Action _recovered;
    private KvStateMachine _state;
    private readonly PendingProposals _pending;
    private readonly string _nodeId;
    private readonly ILogger _logger;
    private readonly Action<string> _fault;
    private readonly WatchHub _watches;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _lastSeenByOrigin = new(StringComparer.Ordinal);
    private bool _telemetryFailed;

    public LogApplier(
        IReplicationLog log,
        KvStateMachine state,
        PendingProposals pending,
        WatchHub watches,
        string nodeId,
        ILogger logger,
        Action<string> fault,
        IStateSource? stateSource = null,
        Action? recovered = null)
    {
        _stateSource = stateSource;
        _recovered = recovered ?? (() => { });
        _watches = watches;
        _log = log;
        _state = state;
        _pending = pending;
        _nodeId = nodeId;
        _logger = logger;
        _fault = fault;
    }

    /// <summary>Reads the state under the lock the applier holds while it applies. Keep <paramref name="read"/> short.</summary>
    public T Read<T>(Func<IStateView, T> read)
    {
        lock (_gate)
        {
            return read(_state);
        }
    }

    /// <summary>The auth store as last applied, without the lock (it is an immutable copy).</summary>
    public AuthView Auth => Volatile.Read(ref _state).Auth;

    /// <summary>The whole state, for a snapshot.</summary>
    public StateCapture Capture()
    {
        lock (_gate)
        {
            return _state.Capture();
        }
    }

    /// <summary>What the writer stamps on the entries it builds.</summary>
    public WriterStamp Stamp()
    {
        lock (_gate)
        {
            return new WriterStamp(_state.AppliedOffset, _state.LogIdentity, _state.RememberedFrom);
        }
    }

    /// <summary>The last log offset applied from each origin node.</summary>
    public IReadOnlyDictionary<string, long> LastSeenByOrigin()
    {
        lock (_gate)
        {
            return new Dictionary<string, long>(_lastSeenByOrigin);
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var resumeAfter = Read(s => s.AppliedOffset);
                await foreach (var record in _log.ReadAsync(resumeAfter, cancellationToken).ConfigureAwait(false))
                {
                    if (!Handle(record))
                    {
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (LogTruncatedException ex)
            {
                if (!await InstallFetchedStateAsync(ex, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (LogDivergedException ex)
            {
                _fault($"{ex.Message} This node will not apply a different log on top of what it holds: restore the stream, or start this node with an empty data folder to take the new log as it is.");
                return;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Reading the log failed; reading again from the entry applied last.");
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Replaces the state with one fetched from the state source (a peer's snapshot) that covers
    /// the first entry the log still holds; until one comes, the node serves nothing and says why.
    /// False when there is no source, or the node is stopping.
    /// </summary>
    private async Task<bool> InstallFetchedStateAsync(LogTruncatedException truncated, CancellationToken cancellationToken)
    {
        if (_stateSource is null)
        {
            _fault($"{truncated.Message} This node cannot rebuild the missing writes, so it serves no data until it is restored from a snapshot that covers them.");
            return false;
        }

        var identity = Read(s => s.LogIdentity);
        _logger.LogWarning("{Reason} Fetching a snapshot from a peer instead.", truncated.Message);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var fetched = await _stateSource.FetchAsync(identity, truncated.FirstAvailableOffset, cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    _state = fetched.State;
                }

                // What waited on this node was proposed against the state it no longer has: its
                // outcome is in the fetched state or not at all. Watches cannot go on across a jump.
                _pending.FailAll(() => new ReplicaUnavailableException(
                    $"Node {_nodeId} replaced its state with a snapshot from {fetched.From}; the write may or may not have been applied; read the key to find out."));
                _watches.CancelAll($"node {_nodeId} installed a snapshot from {fetched.From}; watch again from the current revision");
                _recovered();
                _logger.LogInformation(
                    "Node {NodeId} installed a snapshot from {Peer} (revision {Revision}, log offset {Offset}) and reads the log on from there.",
                    _nodeId, fetched.From, fetched.State.Revision, fetched.State.AppliedOffset);
                return true;
            }
            catch (StateUnavailableException ex)
            {
                _fault($"{truncated.Message} This node cannot rebuild the missing writes from the log, and {ex.Message}; it serves no data, and asks again every {StateRetryDelay.TotalSeconds:0} s.");
            }

            try
            {
                await Task.Delay(StateRetryDelay, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return false;
    }

    /// <summary>Applies one record; false when the node must stop applying (it has faulted).</summary>
    private bool Handle(LogRecord record)
    {
        var (applied, lastHash) = Read(s => (s.AppliedOffset, s.LastEntryHash));
        if (record.Offset < applied)
        {
            return true; // delivered again after a resubscribe
        }

        var hash = LogCodec.Hash(record.Payload.Span);
        if (record.Offset == applied)
        {
            if (lastHash.Length > 0 && hash != lastHash)
            {
                _fault($"The log's entry at offset {record.Offset} is not the one this node applied there: the stream was deleted and created again, or replaced. " +
                    "This node will not apply a different log on top of what it holds: restore the stream, or start this node with an empty data folder to take the new log as it is.");
                return false;
            }

            return true;
        }

        var started = DateTimeOffset.UtcNow;
        var decoded = LogCodec.TryDecode(record.Payload, out var entry, out var error);
        var results = new List<CommandResult>(decoded ? entry.Commands.Count : 0);
        IReadOnlyList<RevisionEvents> changes = [];
        bool appliedNow;
        try
        {
            lock (_gate)
            {
                var revisionBefore = _state.Revision;
                appliedNow = decoded ? _state.Apply(record.Offset, hash, entry, results) : _state.Skip(record.Offset, hash);
                if (appliedNow && decoded)
                {
                    _lastSeenByOrigin[entry.Origin] = record.Offset;
                    if (_state.Revision > revisionBefore)
                    {
                        changes = _state.EventsFrom(revisionBefore + 1, int.MaxValue);
                    }
                }
            }
        }
        catch (Exception ex)
        {
            // The state may be half changed: applying on would be guessing.
            _fault($"Applying the log entry at offset {record.Offset} failed ({ex.GetType().Name}: {ex.Message}); this node stopped applying the log so as not to diverge from the others.");
            return false;
        }

        if (!appliedNow)
        {
            return true;
        }

        if (!decoded)
        {
            _logger.LogWarning("Skipped the log entry at offset {Offset}: {Error}.", record.Offset, error);
            return true;
        }

        // In revision order, and before the writers hear back: a caller that watches after its
        // write has been acknowledged misses nothing.
        _watches.Publish(changes);
        if (entry.Origin == _nodeId)
        {
            for (var i = 0; i < results.Count; i++)
            {
                var id = entry.Commands[i].Id;
                if (id.Length == 16)
                {
                    _pending.Complete(new Guid(id.Span), results[i]);
                }
            }
        }

        try
        {
            NodeDiagnostics.RecordApply(_nodeId, record.Offset, entry, results, started);
        }
        catch (Exception ex) when (!_telemetryFailed)
        {
            // Telemetry must never stop the log; say so once.
            _telemetryFailed = true;
            _logger.LogWarning(ex, "Recording telemetry for applied entries failed; entries are still applied.");
        }
        catch (Exception)
        {
        }

        return true;
    }
}
