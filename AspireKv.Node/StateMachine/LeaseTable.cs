namespace AspireKv.Node.StateMachine;

/// <summary>
/// The leases: each with its TTL, when it expires by the log's clock, and the keys attached to it.
/// Part of the replicated state.
/// </summary>
public sealed class LeaseTable
{
    private readonly Dictionary<long, Lease> _leases = [];
    private readonly SortedSet<(long ExpiresAt, long Id)> _byExpiry = [];

    public int Count => _leases.Count;

    public bool Exists(long id) => _leases.ContainsKey(id);

    public LeaseInfo? Find(long id) => _leases.TryGetValue(id, out var lease) ? lease.Info() : null;

    /// <summary>Every lease, by id.</summary>
    public IEnumerable<LeaseInfo> All() => _leases.Values.OrderBy(l => l.Id).Select(l => l.Info());

    public bool TryGrant(long id, long ttlSeconds, long nowMicros)
    {
        if (_leases.ContainsKey(id))
        {
            return false;
        }

        var lease = new Lease(id, ttlSeconds) { ExpiresAt = Expiry(nowMicros, ttlSeconds) };
        _leases[id] = lease;
        _byExpiry.Add((lease.ExpiresAt, id));
        return true;
    }

    /// <summary>Renews the lease for its full TTL from <paramref name="nowMicros"/>; null when there is no such lease.</summary>
    public LeaseInfo? KeepAlive(long id, long nowMicros)
    {
        if (!_leases.TryGetValue(id, out var lease))
        {
            return null;
        }

        _byExpiry.Remove((lease.ExpiresAt, id));
        lease.ExpiresAt = Expiry(nowMicros, lease.TtlSeconds);
        _byExpiry.Add((lease.ExpiresAt, id));
        return lease.Info();
    }

    /// <summary>Removes the lease; returns the keys that were attached to it, in order, or null when there is no such lease.</summary>
    public IReadOnlyList<string>? Remove(long id)
    {
        if (!_leases.Remove(id, out var lease))
        {
            return null;
        }

        _byExpiry.Remove((lease.ExpiresAt, id));
        return [.. lease.Keys.Order(Utf8KeyComparer.Instance)];
    }

    /// <summary>The ids of the leases that have expired by <paramref name="nowMicros"/>, soonest first.</summary>
    public IReadOnlyList<long> Due(long nowMicros) => [.. _byExpiry.TakeWhile(e => e.ExpiresAt <= nowMicros).Select(e => e.Id)];

    public void Attach(string key, long id)
    {
        if (id != 0 && _leases.TryGetValue(id, out var lease))
        {
            lease.Keys.Add(key);
        }
    }

    public void Detach(string key, long id)
    {
        if (id != 0 && _leases.TryGetValue(id, out var lease))
        {
            lease.Keys.Remove(key);
        }
    }

    /// <summary>Restores a lease as a snapshot recorded it (its keys come from the records).</summary>
    public void Restore(LeaseInfo info)
    {
        _leases[info.Id] = new Lease(info.Id, info.TtlSeconds) { ExpiresAt = info.ExpiresAtMicros };
        _byExpiry.Add((info.ExpiresAtMicros, info.Id));
    }

    private static long Expiry(long nowMicros, long ttlSeconds) => nowMicros + (Math.Min(ttlSeconds, long.MaxValue / 2_000_000) * 1_000_000);

    private sealed class Lease(long id, long ttlSeconds)
    {
        public long Id { get; } = id;

        public long TtlSeconds { get; } = ttlSeconds;

        public long ExpiresAt { get; set; }

        public HashSet<string> Keys { get; } = new(StringComparer.Ordinal);

        public LeaseInfo Info() => new(Id, TtlSeconds, ExpiresAt, [.. Keys.Order(Utf8KeyComparer.Instance)]);
    }
}
