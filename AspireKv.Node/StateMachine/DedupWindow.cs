namespace AspireKv.Node.StateMachine;

/// <summary>
/// The ids of the most recently applied commands, each with the log offset it was applied at,
/// part of the replicated state. A command whose id is here is not applied again.
/// <see cref="RememberedFrom"/> says from which offset on every applied id is still here: a
/// retried entry whose first copy may have landed before that offset could be applied twice, so
/// the state machine refuses it as stale instead.
/// </summary>
public sealed class DedupWindow(int capacity)
{
    private readonly HashSet<Guid> _ids = [];
    private readonly Queue<(long Offset, Guid Id)> _order = new();

    /// <summary>How many ids it keeps.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>Every command applied at this offset or later is remembered.</summary>
    public long RememberedFrom { get; private set; }

    public int Count => _order.Count;

    /// <summary>Oldest first.</summary>
    public IEnumerable<(long Offset, Guid Id)> Entries => _order;

    /// <summary>Remembers <paramref name="id"/>, applied at <paramref name="offset"/>; false when it was already remembered.</summary>
    public bool TryAdd(Guid id, long offset)
    {
        if (!_ids.Add(id))
        {
            return false;
        }

        _order.Enqueue((offset, id));
        while (_order.Count > Capacity)
        {
            var (evicted, evictedId) = _order.Dequeue();
            _ids.Remove(evictedId);
            RememberedFrom = Math.Max(RememberedFrom, evicted + 1);
        }

        return true;
    }

    /// <summary>Whether every id a copy of an entry proposed after <paramref name="proposerAppliedOffset"/> could carry is still here.</summary>
    public bool Covers(long proposerAppliedOffset) => proposerAppliedOffset + 1 >= RememberedFrom;

    /// <summary>Restores the window as a snapshot recorded it.</summary>
    public void Restore(long rememberedFrom, IEnumerable<(long Offset, Guid Id)> entries)
    {
        RememberedFrom = rememberedFrom;
        foreach (var (offset, id) in entries)
        {
            if (_ids.Add(id))
            {
                _order.Enqueue((offset, id));
            }
        }
    }
}
