using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using AspireKv.Node.Diagnostics;
using AspireKv.Node.Replication.Wire;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace AspireKv.Node.Replication;

/// <summary>
/// One replica: proposes commands to the log, applies the log to its state machine in offset
/// order, and answers each proposer once its own state machine has applied the command.
/// Concurrent proposals are coalesced into one log entry, and several entries may await their
/// confirm at once. Concurrent linearizable reads share one barrier.
/// </summary>
public sealed class Replica : IAsyncDisposable
{
    /// <summary>How often one entry is sent before its proposers are told the log is unavailable.</summary>
    private const int MaxAppendAttempts = 10;

    private readonly IReplicationLog _log;
    private readonly ReplicaOptions _options;
    private readonly ILogger<Replica> _logger;
    private readonly KvStateMachine _state;
    private readonly Lock _gate = new();
    private readonly Channel<Command?> _proposals = Channel.CreateUnbounded<Command?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<CommandResult>> _pending = new();
    private readonly Dictionary<string, long> _lastSeenByOrigin = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _appendSlots;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _barrierGate = new();
    private BarrierSlot? _nextBarrier;
    private Task _applyLoop = Task.CompletedTask;
    private Task _publishLoop = Task.CompletedTask;
    private Task _readyLoop = Task.CompletedTask;
    private volatile bool _ready;
    private volatile string? _fault;

    public Replica(IReplicationLog log, IOptions<ReplicaOptions> options, ILogger<Replica> logger, KvStateMachine? state = null)
    {
        _log = log;
        _options = options.Value;
        _logger = logger;
        _state = state ?? new KvStateMachine();
        _appendSlots = new SemaphoreSlim(_options.MaxAppendsInFlight);
        if (string.IsNullOrWhiteSpace(_options.NodeId))
        {
            throw new ArgumentException("The replica needs a node id.", nameof(options));
        }
    }

    public string NodeId => _options.NodeId;

    /// <summary>Whether the replica serves, and why not.</summary>
    public ReplicaHealthReport Health
    {
        get
        {
            if (_fault is { } fault)
            {
                return new ReplicaHealthReport(ReplicaHealth.NotServing, fault);
            }

            var availability = _log.Availability;
            if (!availability.IsAvailable)
            {
                return new ReplicaHealthReport(ReplicaHealth.Degraded, availability.Detail);
            }

            return _ready
                ? new ReplicaHealthReport(ReplicaHealth.Serving, string.Empty)
                : new ReplicaHealthReport(ReplicaHealth.Starting, "catching up with the log");
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _log.StartAsync(cancellationToken).ConfigureAwait(false);
        _applyLoop = Task.Run(() => ApplyLoopAsync(_stopping.Token), CancellationToken.None);
        _publishLoop = Task.Run(() => PublishLoopAsync(_stopping.Token), CancellationToken.None);
        _readyLoop = Task.Run(() => BecomeReadyAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>
    /// Proposes a command and returns its result once this replica has applied it. Throws
    /// <see cref="ReplicaUnavailableException"/> when the log cannot take it.
    /// </summary>
    public async Task<CommandResult> ProposeAsync(Command command, CancellationToken cancellationToken)
    {
        ThrowIfCannotWrite();
        var id = Guid.NewGuid();
        command.Id = UnsafeByteOperations.UnsafeWrap(id.ToByteArray());
        using var propose = NodeDiagnostics.StartPropose(command);
        if ((propose ?? Activity.Current) is { IdFormat: ActivityIdFormat.W3C } activity)
        {
            command.Traceparent = activity.Id!;
        }

        NodeDiagnostics.Proposals.Add(1, new KeyValuePair<string, object?>("aspirekv.operation", NodeDiagnostics.Operation(command)));
        var completion = new TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = completion;
        _proposals.Writer.TryWrite(command);
        try
        {
            return await completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Completes once this replica has applied a barrier that entered the log after the call
    /// began, so local state then reflects every write acknowledged before it.
    /// </summary>
    public Task ReadBarrierAsync(CancellationToken cancellationToken)
    {
        ThrowIfCannotWrite(" Linearizable reads need the log; a serializable read works without it.");
        BarrierSlot slot;
        var created = false;
        lock (_barrierGate)
        {
            if (_nextBarrier is null)
            {
                _nextBarrier = new BarrierSlot();
                created = true;
            }

            slot = _nextBarrier;
        }

        if (created)
        {
            _proposals.Writer.TryWrite(null); // wakes the publisher, which takes the slot
        }

        return slot.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Reads the state under the replica's lock. Keep <paramref name="read"/> short.</summary>
    public T Read<T>(Func<KvStateMachine, T> read)
    {
        ThrowIfNotServing();
        lock (_gate)
        {
            return read(_state);
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

    /// <summary>Reads the state for status, even when the replica is not serving data.</summary>
    public T Inspect<T>(Func<KvStateMachine, T> read)
    {
        lock (_gate)
        {
            return read(_state);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _proposals.Writer.TryComplete();
        await Task.WhenAll(_applyLoop, _publishLoop, _readyLoop).ConfigureAwait(false);
        FailAllPending("the node is shutting down");
        await _log.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void ThrowIfNotServing()
    {
        if (_fault is { } fault)
        {
            throw new ReplicaUnavailableException($"Node {NodeId} is not serving: {fault}");
        }
    }

    private void ThrowIfCannotWrite(string hint = "")
    {
        ThrowIfNotServing();
        var availability = _log.Availability;
        if (!availability.IsAvailable)
        {
            throw new ReplicaUnavailableException($"Node {NodeId} cannot reach the log: {availability.Detail}.{hint}");
        }
    }

    private async Task PublishLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _proposals.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // With every append slot busy, proposals pile up meanwhile and the next entry carries them all.
                await _appendSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
                var entry = new LogEntry { Origin = NodeId };
                var bytes = 0;
                while (entry.Commands.Count < _options.MaxBatchCommands && bytes < _options.MaxBatchBytes && reader.TryRead(out var command))
                {
                    if (command is not null)
                    {
                        entry.Commands.Add(command);
                        bytes += command.CalculateSize();
                    }
                }

                BarrierSlot? barrier;
                lock (_barrierGate)
                {
                    barrier = _nextBarrier;
                    _nextBarrier = null;
                }

                if (barrier is not null)
                {
                    _pending[barrier.Id] = barrier.Completion;
                    entry.Commands.Add(new Command { Id = UnsafeByteOperations.UnsafeWrap(barrier.Id.ToByteArray()), Barrier = new BarrierOp() });
                }

                if (entry.Commands.Count == 0)
                {
                    _appendSlots.Release();
                    continue;
                }

                entry.ProposedAtUnixMicros = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
                NodeDiagnostics.BatchSize.Record(entry.Commands.Count);

                // The publish span is current while the append starts, so the broker client's own span nests under it.
                var previous = Activity.Current;
                var publish = NodeDiagnostics.StartPublish(entry, _log.Destination);
                _ = AppendAsync(entry, publish, cancellationToken);
                Activity.Current = previous;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task AppendAsync(LogEntry entry, Activity? publish, CancellationToken cancellationToken)
    {
        using var span = publish;

        // An entry no traced call waits for (barriers of untraced reads) would show as a trace of its own.
        using var untraced = publish is null ? SuppressInstrumentationScope.Begin() : null;
        var bytes = LogCodec.Encode(entry);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _log.AppendAsync(bytes, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (LogUnavailableException ex) when (attempt < MaxAppendAttempts && AnyoneWaits(entry))
                {
                    // The entry may or may not have reached the log. Its proposers still wait, and a
                    // second copy is harmless (the state machine drops command ids it has applied),
                    // so send it again once the log is back, for as long as someone waits.
                    _logger.LogInformation("Appending {Count} command(s) failed ({Reason}); sending them again when the log is back.", entry.Commands.Count, ex.Message);
                    await WaitForLogAsync(entry, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            var reason = ex is LogUnavailableException ? ex.Message : $"appending to the log failed: {ex.Message}";
            span?.SetStatus(ActivityStatusCode.Error, reason);
            if (ex is not OperationCanceledException)
            {
                _logger.LogWarning("Appending {Count} command(s) to the log failed: {Reason}", entry.Commands.Count, reason);
            }

            // Commands that did reach the log may still be applied; their proposers hear of the failure either way.
            foreach (var command in entry.Commands)
            {
                if (_pending.TryRemove(new Guid(command.Id.Span), out var completion))
                {
                    completion.TrySetException(new ReplicaUnavailableException($"Node {NodeId} could not write to the log: {reason}"));
                }
            }
        }
        finally
        {
            _appendSlots.Release();
        }
    }

    private bool AnyoneWaits(LogEntry entry) => entry.Commands.Any(c => _pending.ContainsKey(new Guid(c.Id.Span)));

    private async Task WaitForLogAsync(LogEntry entry, CancellationToken cancellationToken)
    {
        while (!_log.Availability.IsAvailable && AnyoneWaits(entry))
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ApplyLoopAsync(CancellationToken cancellationToken)
    {
        var results = new List<CommandResult>();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                long from;
                lock (_gate)
                {
                    from = _state.AppliedOffset + 1;
                }

                await foreach (var record in _log.ReadAsync(from, cancellationToken).ConfigureAwait(false))
                {
                    Apply(record, results);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (LogTruncatedException ex)
            {
                _fault = $"{ex.Message} This node cannot rebuild the missing writes, so it serves no data until it is restored from a snapshot that covers them.";
                _logger.LogCritical("{Fault}", _fault);
                FailAllPending(_fault);
                return;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Reading the log failed; reading again from the next unapplied offset.");
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

    private void Apply(LogRecord record, List<CommandResult> results)
    {
        var started = DateTimeOffset.UtcNow;
        var decoded = LogCodec.TryDecode(record.Payload, out var entry, out var error);
        bool applied;
        lock (_gate)
        {
            if (decoded)
            {
                applied = _state.Apply(record.Offset, entry, results);
                if (applied)
                {
                    _lastSeenByOrigin[entry.Origin] = record.Offset;
                }
            }
            else
            {
                applied = _state.Skip(record.Offset);
            }
        }

        if (!applied)
        {
            return; // Delivered again after a resubscribe; applied before.
        }

        if (!decoded)
        {
            _logger.LogWarning("Skipped the log entry at offset {Offset}: {Error}.", record.Offset, error);
            return;
        }

        NodeDiagnostics.RecordApply(NodeId, record.Offset, entry, results, started);
        if (entry.Origin == NodeId)
        {
            for (var i = 0; i < results.Count; i++)
            {
                var id = entry.Commands[i].Id;
                if (id.Length == 16 && _pending.TryRemove(new Guid(id.Span), out var completion))
                {
                    completion.TrySetResult(results[i]);
                }
            }
        }

        results.Clear();
    }

    private async Task BecomeReadyAsync(CancellationToken cancellationToken)
    {
        // Ready once a barrier proposed now has come back: everything before it has been applied.
        try
        {
            while (_fault is null)
            {
                try
                {
                    await ReadBarrierAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
                    _ready = true;
                    _logger.LogInformation("Node {NodeId} has caught up with the log and is serving.", NodeId);
                    return;
                }
                catch (Exception ex) when (ex is ReplicaUnavailableException or TimeoutException)
                {
                    _logger.LogInformation("Node {NodeId} is still catching up: {Reason}", NodeId, ex.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void FailAllPending(string reason)
    {
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var completion))
            {
                completion.TrySetException(new ReplicaUnavailableException($"Node {NodeId}: {reason}"));
            }
        }

        lock (_barrierGate)
        {
            _nextBarrier?.Completion.TrySetException(new ReplicaUnavailableException($"Node {NodeId}: {reason}"));
            _nextBarrier = null;
        }
    }

    private sealed class BarrierSlot
    {
        public Guid Id { get; } = Guid.NewGuid();

        public TaskCompletionSource<CommandResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Settings of a replica.</summary>
public sealed class ReplicaOptions
{
    public string NodeId { get; set; } = string.Empty;

    /// <summary>The most commands one log entry carries.</summary>
    public int MaxBatchCommands { get; set; } = 512;

    /// <summary>A log entry stops taking commands once it holds this many bytes.</summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How many entries may await their confirm at once. While they wait, new proposals gather
    /// into the next entry; on a machine where the broker and the nodes share the CPU, fewer,
    /// larger entries win (docs/benchmarks.md has the measurements).
    /// </summary>
    public int MaxAppendsInFlight { get; set; } = 1;
}

public enum ReplicaHealth
{
    Starting,
    Serving,
    Degraded,
    NotServing,
}

public readonly record struct ReplicaHealthReport(ReplicaHealth Health, string Detail);

/// <summary>The replica cannot do this now; the message says why. Maps to UNAVAILABLE.</summary>
public sealed class ReplicaUnavailableException(string message) : Exception(message);
