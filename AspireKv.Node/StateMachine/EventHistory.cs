namespace AspireKv.Node.StateMachine;

/// <summary>Whether a change set a key or removed it.</summary>
public enum EventType
{
    Put,
    Delete,
}

/// <summary>One change to one key: the record after it (for a delete, a tombstone) and the one before, if any.</summary>
public sealed record KvEvent(EventType Type, KeyRecord Record, KeyRecord? Previous);

/// <summary>Every change of one revision.</summary>
public sealed record RevisionEvents(long Revision, IReadOnlyList<KvEvent> Events);

/// <summary>
/// The changes of the most recent revisions, every one of them from <see cref="CompactRevision"/>
/// on: what watches replay, what History returns and what reads at a past revision are computed
/// from. It keeps at most <see cref="Capacity"/> revisions, and a compaction drops older ones;
/// both are decided by the log, so every replica keeps the same history.
/// </summary>
public sealed class EventHistory(int capacity)
{
    private readonly List<RevisionEvents> _revisions = [];
    private readonly Dictionary<string, KeyChanges> _byKey = new(StringComparer.Ordinal);
    private int _start;

    public int Capacity { get; } = capacity;

    /// <summary>The oldest revision whose state and changes are still served; reads and watches before it fail as compacted.</summary>
    public long CompactRevision { get; private set; } = 1;

    /// <summary>How many revisions are held.</summary>
    public int Count => _revisions.Count - _start;

    public IEnumerable<RevisionEvents> All => _revisions.Skip(_start);

    public void Append(RevisionEvents revision)
    {
        _revisions.Add(revision);
        foreach (var change in revision.Events)
        {
            if (!_byKey.TryGetValue(change.Record.Key, out var changes))
            {
                changes = _byKey[change.Record.Key] = new KeyChanges();
            }

            changes.Add(change);
        }

        while (Count > Capacity)
        {
            DropOldest();
        }
    }

    /// <summary>Drops the history before <paramref name="revision"/> (it becomes the compact revision); an older one changes nothing.</summary>
    public void Compact(long revision)
    {
        CompactRevision = Math.Max(CompactRevision, revision);
        while (Count > 0 && _revisions[_start].Revision < CompactRevision)
        {
            DropOldest();
        }
    }

    /// <summary>The revisions from <paramref name="revision"/> on, at most <paramref name="limit"/> of them.</summary>
    public IReadOnlyList<RevisionEvents> From(long revision, int limit)
    {
        if (Count == 0)
        {
            return [];
        }

        var first = _revisions[_start].Revision;
        var index = _start + (int)Math.Clamp(revision - first, 0, Count);
        return _revisions.GetRange(index, Math.Min(limit, _revisions.Count - index));
    }

    /// <summary>The changes to <paramref name="key"/> still held, oldest first.</summary>
    public IReadOnlyList<KvEvent> ForKey(string key) => _byKey.TryGetValue(key, out var changes) ? changes : [];

    /// <summary>One key's changes, oldest first; dropping the oldest is cheap however many there are.</summary>
    private sealed class KeyChanges : IReadOnlyList<KvEvent>
    {
        private readonly List<KvEvent> _changes = [];
        private int _start;

        public int Count => _changes.Count - _start;

        public KvEvent this[int index] => _changes[_start + index];

        public void Add(KvEvent change) => _changes.Add(change);

        public void DropOldest()
        {
            _changes[_start++] = null!;
            if (_start > 64 && _start > _changes.Count / 2)
            {
                _changes.RemoveRange(0, _start);
                _start = 0;
            }
        }

        public IEnumerator<KvEvent> GetEnumerator() => _changes.Skip(_start).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>
    /// <paramref name="key"/>'s record at <paramref name="revision"/> (at or after the compact
    /// revision), given its record now; null when it did not exist then.
    /// </summary>
    public KeyRecord? ValueAt(string key, KeyRecord? current, long revision)
    {
        if (current is not null && current.ModRevision <= revision)
        {
            return current; // unchanged since
        }

        var changes = ForKey(key);
        for (var i = changes.Count - 1; i >= 0; i--)
        {
            if (changes[i].Record.ModRevision <= revision)
            {
                return changes[i].Type == EventType.Put ? changes[i].Record : null;
            }
        }

        // Every change held is newer: the key was as the oldest of them found it.
        return changes.Count > 0 ? changes[0].Previous : current;
    }

    /// <summary>The keys in <paramref name="range"/> that changed after <paramref name="revision"/>: the ones a read at that revision may see differently.</summary>
    public IEnumerable<string> ChangedAfter(KeyRange range, long revision) =>
        _byKey.Where(k => k.Value.Count > 0 && k.Value[^1].Record.ModRevision > revision && range.Contains(k.Key)).Select(k => k.Key);

    /// <summary>Restores the history as a snapshot recorded it.</summary>
    public void Restore(long compactRevision, IEnumerable<RevisionEvents> revisions)
    {
        CompactRevision = compactRevision;
        foreach (var revision in revisions)
        {
            Append(revision);
        }
    }

    private void DropOldest()
    {
        var oldest = _revisions[_start];
        _revisions[_start++] = null!;
        foreach (var change in oldest.Events)
        {
            var changes = _byKey[change.Record.Key];
            changes.DropOldest();
            if (changes.Count == 0)
            {
                _byKey.Remove(change.Record.Key);
            }
        }

        CompactRevision = Math.Max(CompactRevision, oldest.Revision + 1);
        if (_start > 1024 && _start > _revisions.Count / 2)
        {
            _revisions.RemoveRange(0, _start);
            _start = 0;
        }
    }
}
