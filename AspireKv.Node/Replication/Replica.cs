using System.Diagnostics;
using AspireKv.Node.Commands;
using AspireKv.Node.Diagnostics;
using AspireKv.Node.StateMachine;
using AspireKv.Node.Watching;

namespace AspireKv.Node.Replication;

/// <summary>
/// One replica, in front of its parts: the <see cref="LogWriter"/> puts proposals into the log,
/// the <see cref="LogApplier"/> applies the log to the state machine, <see cref="PendingProposals"/>
/// holds the callers that wait, and <see cref="Readiness"/> says whether it may serve. A proposal
/// answers once this replica has applied it; readers get a read-only view of the state.
/// </summary>
public sealed class Replica : IAsyncDisposable
{
    private readonly IReplicationLog _log;
    private readonly PendingProposals _pending = new();
    private readonly LogWriter _writer;
    private readonly LogApplier _applier;
    private readonly Readiness _readiness;
    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;

    /// <summary>
    /// A replica over <paramref name="log"/>, from <paramref name="state"/> (a loaded snapshot) or
    /// empty. <paramref name="stateSource"/> is where a whole state comes from when the log no
    /// longer holds what the replica needs (a peer's snapshot); without one, it stops serving then.
    /// </summary>
    public Replica(
        IReplicationLog log,
        ReplicationOptions options,
        string nodeId,
        ILoggerFactory loggers,
        KvStateMachine? state = null,
        TimeProvider? time = null,
        IStateSource? stateSource = null)
    {
        if (string.IsNullOrWhiteSpace(nodeId))
        {
            throw new ArgumentException("The replica needs a node id.", nameof(nodeId));
        }

        NodeId = nodeId;
        _log = log;
        _readiness = new Readiness(nodeId, loggers.CreateLogger<Readiness>());
        Time = time ?? TimeProvider.System;
        _applier = new LogApplier(log, state ?? new KvStateMachine(), _pending, Watches, nodeId, loggers.CreateLogger<LogApplier>(), Fault, stateSource, _readiness.ClearFault);
        _writer = new LogWriter(log, _pending, options, nodeId, _applier.Stamp, Time, loggers.CreateLogger<LogWriter>());
    }

    public string NodeId { get; }

    /// <summary>This node's clock: the time it stamps on the entries it proposes.</summary>
    public TimeProvider Time { get; }

    /// <summary>The watches open on this node, fed with every revision it applies.</summary>
    public WatchHub Watches { get; } = new();

    /// <summary>Whether the replica serves, and why not.</summary>
    public ReplicaHealthReport Health => _readiness.Report(_log.Availability, _applier.Read(s => s.AppliedOffset));

    /// <summary>The writer, for tests that need to reach into it.</summary>
    internal LogWriter Writer => _writer;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _log.StartAsync(cancellationToken).ConfigureAwait(false);
        var stopping = _stopping.Token;
        _running = Task.WhenAll(
            Task.Run(() => _applier.RunAsync(stopping), CancellationToken.None),
            Task.Run(() => _writer.RunAsync(stopping), CancellationToken.None),
            Task.Run(() => _readiness.RunAsync(ProbeAsync, stopping), CancellationToken.None));
    }

    /// <summary>
    /// Proposes a command and returns its result once this replica has applied it. Throws
    /// <see cref="ReplicaUnavailableException"/> when the replica cannot take writes now.
    /// </summary>
    public async Task<CommandResult> ProposeAsync(Command command, CancellationToken cancellationToken)
    {
        ThrowIfCannotWrite(string.Empty);
        using var propose = NodeDiagnostics.StartPropose(command);
        if ((propose ?? Activity.Current) is { IdFormat: ActivityIdFormat.W3C } activity)
        {
            command.Traceparent = activity.Id!;
        }

        NodeDiagnostics.Proposals.Add(1, new KeyValuePair<string, object?>("aspirekv.operation", NodeDiagnostics.Operation(command)));
        var result = await _writer.ProposeAsync(command, cancellationToken).ConfigureAwait(false);
        return result.Outcome == CommandOutcome.Stale
            ? throw new ReplicaUnavailableException(
                $"Node {NodeId} could not confirm the write in time, and the copy it sent again reached the log too late to be applied safely. It may or may not have been applied; read the key to find out.")
            : result;
    }

    /// <summary>
    /// Completes once this replica has applied a barrier that entered the log after the call
    /// began, so local state then reflects every write acknowledged before it.
    /// </summary>
    public Task ReadBarrierAsync(CancellationToken cancellationToken)
    {
        ThrowIfCannotWrite(" Linearizable reads need the log; a serializable read works without it.");
        return _writer.BarrierAsync(cancellationToken);
    }

    /// <summary>Reads the state for a client: refused while the replica is catching up or has faulted. Keep <paramref name="read"/> short.</summary>
    public T Read<T>(Func<IStateView, T> read)
    {
        ThrowIfCannotRead();
        return _applier.Read(read);
    }

    /// <summary>Reads the state for status and telemetry, whatever the replica's health.</summary>
    public T Inspect<T>(Func<IStateView, T> read) => _applier.Read(read);

    /// <summary>The whole state, for a snapshot.</summary>
    public StateCapture Capture() => _applier.Capture();

    /// <summary>The users, roles and permissions as this replica last applied them; read without the lock.</summary>
    public AuthView Auth => _applier.Auth;

    /// <summary>The last log offset applied from each origin node.</summary>
    public IReadOnlyDictionary<string, long> LastSeenByOrigin() => _applier.LastSeenByOrigin();

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        _pending.FailAll(() => new ReplicaUnavailableException($"Node {NodeId} is shutting down."));
        await _log.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void Fault(string reason)
    {
        _readiness.SetFault(reason);
        _pending.FailAll(() => new ReplicaUnavailableException($"Node {NodeId} is not serving: {reason}"));
    }

    /// <summary>The barrier readiness waits for: proposed while the replica does not serve yet.</summary>
    private Task ProbeAsync(CancellationToken cancellationToken)
    {
        ThrowIfFaulted();
        if (_log.Availability is { IsAvailable: false } log)
        {
            throw new ReplicaUnavailableException(log.Detail);
        }

        return _writer.BarrierAsync(cancellationToken);
    }

    private void ThrowIfFaulted()
    {
        if (_readiness.Fault is { } fault)
        {
            throw new ReplicaUnavailableException($"Node {NodeId} is not serving: {fault}", refused: true);
        }
    }

    private void ThrowIfCannotRead()
    {
        ThrowIfFaulted();
        if (!_readiness.IsCaughtUp)
        {
            throw new ReplicaUnavailableException(
                $"Node {NodeId} is catching up with the log (applied up to offset {_applier.Read(s => s.AppliedOffset)}); until it has, a read could miss writes it acknowledged before it restarted. Try again shortly, or another node.",
                refused: true);
        }
    }

    private void ThrowIfCannotWrite(string hint)
    {
        ThrowIfCannotRead();
        if (_log.Availability is { IsAvailable: false } log)
        {
            throw new ReplicaUnavailableException($"Node {NodeId} cannot reach the log: {log.Detail}.{hint}", refused: true);
        }
    }
}

/// <summary>The replica cannot do this now; the message says why. Maps to UNAVAILABLE.</summary>
public sealed class ReplicaUnavailableException(string message, bool refused = false) : Exception(message)
{
    /// <summary>True when the replica refused before doing anything: a write is certainly not applied, and may be retried as it is.</summary>
    public bool Refused { get; } = refused;
}
