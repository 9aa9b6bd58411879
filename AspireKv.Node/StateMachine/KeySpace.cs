namespace AspireKv.Node.StateMachine;

/// <summary>The keys that exist now, each with its record, in UTF-8 byte order.</summary>
public sealed class KeySpace
{
    // Records live in a slot array that a snapshot can copy in one block move while writes wait
    // (a million keys in a few milliseconds); the index maps a key to its slot, and the ordered
    // set serves ranges. A deleted key's slot is reused.
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _order = new(Utf8KeyComparer.Instance);
    private readonly Stack<int> _free = new();
    private KeyRecord?[] _slots = new KeyRecord?[16];
    private int _used;

    public int Count => _index.Count;

    public KeyRecord? Get(string key) => _index.TryGetValue(key, out var slot) ? _slots[slot] : null;

    public void Set(KeyRecord record)
    {
        if (_index.TryGetValue(record.Key, out var slot))
        {
            _slots[slot] = record;
            return;
        }

        if (!_free.TryPop(out slot))
        {
            if (_used == _slots.Length)
            {
                Array.Resize(ref _slots, _slots.Length * 2);
            }

            slot = _used++;
        }

        _slots[slot] = record;
        _index.Add(record.Key, slot);
        _order.Add(record.Key);
    }

    public void Remove(string key)
    {
        if (_index.Remove(key, out var slot))
        {
            _slots[slot] = null;
            _free.Push(slot);
            _order.Remove(key);
        }
    }

    /// <summary>Every record in order.</summary>
    public IEnumerable<KeyRecord> All() => _order.Select(k => _slots[_index[k]]!);

    /// <summary>
    /// Every record, in no particular order, for a snapshot: one block copy of the slots, which is
    /// all that happens while writes wait (records never change). The copy drops empty slots and
    /// is sorted with <see cref="Sort"/> afterwards, outside any lock.
    /// </summary>
    public UnorderedRecords CopyUnordered()
    {
        var slots = new KeyRecord?[_used];
        Array.Copy(_slots, slots, _used);
        return new UnorderedRecords(slots, _index.Count);
    }

    /// <summary>Sorts records as the key space orders keys (a copy from <see cref="CopyUnordered"/>).</summary>
    public static void Sort(KeyRecord[] records) =>
        Array.Sort(records, (a, b) => Utf8KeyComparer.Instance.Compare(a.Key, b.Key));

    /// <summary>The records in <paramref name="range"/>, in order, starting after <paramref name="startAfter"/> when given.</summary>
    public IEnumerable<KeyRecord> InRange(KeyRange range, string? startAfter = null)
    {
        if (range.IsSingle)
        {
            if (startAfter is null && Get(range.Start) is { } single)
            {
                yield return single;
            }

            yield break;
        }

        var start = startAfter is not null && Utf8KeyComparer.Instance.Compare(startAfter, range.Start) > 0 ? startAfter : range.Start;
        if (_order.Count == 0 || Utf8KeyComparer.Instance.Compare(start, _order.Max) > 0)
        {
            yield break;
        }

        foreach (var key in _order.GetViewBetween(start, _order.Max!))
        {
            if (!range.IsBeforeEnd(key))
            {
                yield break;
            }

            if (key != startAfter)
            {
                yield return _slots[_index[key]]!;
            }
        }
    }
}

/// <summary>
/// A block copy of a key space's slots: its records, in no particular order, with the empty slots
/// dropped the first time they are read (on the snapshot's thread, not under the apply lock).
/// </summary>
public sealed class UnorderedRecords(KeyRecord?[] slots, int count) : IReadOnlyList<KeyRecord>
{
    private KeyRecord[]? _records;

    public int Count => count;

    public KeyRecord this[int index] => Records()[index];

    /// <summary>The records as an array of their own, which the caller may sort in place.</summary>
    public KeyRecord[] Records()
    {
        if (_records is null)
        {
            var records = new KeyRecord[count];
            var next = 0;
            foreach (var record in slots)
            {
                if (record is not null)
                {
                    records[next++] = record;
                }
            }

            _records = records;
        }

        return _records;
    }

    public IEnumerator<KeyRecord> GetEnumerator() => ((IEnumerable<KeyRecord>)Records()).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
