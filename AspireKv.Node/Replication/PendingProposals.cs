using System.Collections.Concurrent;
using AspireKv.Node.StateMachine;

namespace AspireKv.Node.Replication;

/// <summary>
/// The callers waiting for a command to be applied, by command id, as etcd's <c>pkg/wait</c>.
/// A waiter is gone from here once its result is in, or once every caller waiting on it has given
/// up (a deadline, a cancelled call); the writer then drops its command instead of publishing it
/// or sending it again.
/// </summary>
public sealed class PendingProposals
{
    private readonly ConcurrentDictionary<Guid, Waiter> _waiters = new();

    public int Count => _waiters.Count;

    /// <summary>A new waiter for <paramref name="id"/>, with no caller yet.</summary>
    public Waiter Add(Guid id)
    {
        var waiter = new Waiter(this, id);
        _waiters[id] = waiter;
        return waiter;
    }

    public bool TryGet(Guid id, out Waiter waiter) => _waiters.TryGetValue(id, out waiter!);

    /// <summary>Whether someone still waits for <paramref name="id"/>.</summary>
    public bool IsWaited(Guid id) => _waiters.ContainsKey(id);

    /// <summary>Hands <paramref name="result"/> to whoever waits for <paramref name="id"/>.</summary>
    public void Complete(Guid id, CommandResult result)
    {
        if (_waiters.TryRemove(id, out var waiter))
        {
            waiter.Complete(result);
        }
    }

    /// <summary>Fails whoever waits for <paramref name="id"/>.</summary>
    public void Fail(Guid id, Exception error)
    {
        if (_waiters.TryRemove(id, out var waiter))
        {
            waiter.Fail(error);
        }
    }

    /// <summary>Fails every waiter, for example when the node stops.</summary>
    public void FailAll(Func<Exception> error)
    {
        foreach (var id in _waiters.Keys)
        {
            Fail(id, error());
        }
    }

    internal void Forget(Waiter waiter) => _waiters.TryRemove(new KeyValuePair<Guid, Waiter>(waiter.Id, waiter));
}

/// <summary>
/// One command's waiting callers: one for a write, any number for a shared read barrier. When the
/// last caller gives up before the result is in, the waiter is abandoned.
/// </summary>
public sealed class Waiter
{
    private readonly PendingProposals _registry;
    private readonly TaskCompletionSource<CommandResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Action> _onAbandoned = [];
    private int _callers;
    private bool _abandoned;

    internal Waiter(PendingProposals registry, Guid id)
    {
        _registry = registry;
        Id = id;
    }

    public Guid Id { get; }

    /// <summary>Adds a caller; false when the waiter is already done or abandoned (join a new one then).</summary>
    public bool TryJoin()
    {
        lock (_onAbandoned)
        {
            if (_abandoned || _result.Task.IsCompleted)
            {
                return false;
            }

            _callers++;
            return true;
        }
    }

    /// <summary>Waits for the result as one of the callers; leaving by cancellation may abandon the waiter.</summary>
    public async Task<CommandResult> WaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Leave();
            throw;
        }
    }

    /// <summary>Runs <paramref name="action"/> once the last caller has given up (at once if that has happened).</summary>
    public void OnAbandoned(Action action)
    {
        lock (_onAbandoned)
        {
            if (!_abandoned)
            {
                _onAbandoned.Add(action);
                return;
            }
        }

        action();
    }

    internal void Complete(CommandResult result) => _result.TrySetResult(result);

    internal void Fail(Exception error) => _result.TrySetException(error);

    private void Leave()
    {
        Action[] actions;
        lock (_onAbandoned)
        {
            if (--_callers > 0 || _result.Task.IsCompleted || _abandoned)
            {
                return;
            }

            _abandoned = true;
            actions = [.. _onAbandoned];
            _onAbandoned.Clear();
        }

        _registry.Forget(this);
        foreach (var action in actions)
        {
            action();
        }
    }
}
