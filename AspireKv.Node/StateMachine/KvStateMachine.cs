using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using AspireKv.Node.Commands;
using Google.Protobuf;

namespace AspireKv.Node.StateMachine;

/// <summary>
/// The replicated state: keys with their counters, leases, the history of recent revisions, the
/// window of recently applied command ids, the log's identity and clock, and how far the log has
/// been applied. It follows etcd's v3 semantics (revisions, compares, transactions, leases,
/// compaction). Deterministic and free of I/O: given the same log it reaches the same state on
/// every replica; the only time it knows is the log's clock, the largest proposer timestamp it has
/// applied. Not thread-safe; the replica serializes access.
/// </summary>
public sealed class KvStateMachine : IStateView
{
    /// <summary>How many recent command ids are remembered to drop duplicates. Part of the replicated state.</summary>
    public const int DedupWindowSize = 100_000;

    /// <summary>How many recent revisions the history keeps. Part of the replicated state.</summary>
    public const int HistoryRevisions = 10_000;

    private KeySpace _keys = new();
    private readonly LeaseTable _leases = new();
    private readonly AuthStore _auth = new();
    private readonly EventHistory _history;
    private readonly DedupWindow _recent;
    private List<KvEvent>? _pending;

    public KvStateMachine(int dedupWindowSize = DedupWindowSize, int historyRevisions = HistoryRevisions)
    {
        _recent = new DedupWindow(dedupWindowSize);
        _history = new EventHistory(historyRevisions);
    }

    public long Revision { get; private set; }

    public long AppliedOffset { get; private set; } = -1;

    public long SkippedEntries { get; private set; }

    public int KeyCount => _keys.Count;

    public ByteString LogIdentity { get; private set; } = ByteString.Empty;

    public ByteString LastEntryHash { get; private set; } = ByteString.Empty;

    public long RememberedFrom => _recent.RememberedFrom;

    public long CompactRevision => _history.CompactRevision;

    public long LogTimeMicros { get; private set; }

    /// <summary>The auth store as last changed: an immutable copy, safe to read without the replica's lock.</summary>
    public AuthView Auth => _auth.View;

    /// <summary>
    /// Applies the entry at <paramref name="offset"/> (whose bytes hash to <paramref name="entryHash"/>),
    /// appending one result per command to <paramref name="results"/>. The entry's timestamp moves
    /// the log's clock on first, which may expire leases. An entry at or below
    /// <see cref="AppliedOffset"/> was applied before and is ignored; the method then returns false.
    /// </summary>
    public bool Apply(long offset, ByteString entryHash, LogEntry entry, List<CommandResult> results)
    {
        if (!Advance(offset, entryHash))
        {
            return false;
        }

        if (entry.LogIdentity.Length > 0 && LogIdentity.Length > 0 && entry.LogIdentity != LogIdentity)
        {
            // Proposed by a node that had applied another log (one recreated under it): not this log's write.
            SkippedEntries++;
            foreach (var _ in entry.Commands)
            {
                results.Add(Reject("the entry was proposed against another log"));
            }

            return true;
        }

        AdvanceClock(entry.ProposedAtUnixMicros);
        var stale = entry.HasProposerAppliedOffset && !_recent.Covers(entry.ProposerAppliedOffset);
        foreach (var command in entry.Commands)
        {
            results.Add(stale && command.OpCase != Command.OpOneofCase.Barrier ? new CommandResult(CommandOutcome.Stale, Revision) : Apply(offset, command));
        }

        return true;
    }

    /// <summary>Records that the entry at <paramref name="offset"/> could not be decoded and was skipped.</summary>
    public bool Skip(long offset, ByteString entryHash)
    {
        if (!Advance(offset, entryHash))
        {
            return false;
        }

        SkippedEntries++;
        return true;
    }

    public KeyRecord? Get(string key) => _keys.Get(key);

    public KeyRecord? Get(string key, long revision) =>
        revision <= 0 || revision >= Revision ? _keys.Get(key) : _history.ValueAt(key, _keys.Get(key), revision);

    public ReadError? CheckRevision(long revision) =>
        revision <= 0 ? null
        : revision > Revision ? new ReadError(CommandOutcome.FutureRevision, CompactRevision, Revision)
        : revision < CompactRevision && revision < Revision ? new ReadError(CommandOutcome.Compacted, CompactRevision, Revision)
        : null;

    public (List<KeyRecord> Entries, bool More) List(string prefix, string? startAfter, int limit, long maxBytes, bool keysOnly = false, long revision = 0)
    {
        var page = Range(KeyRange.Prefix(prefix), startAfter, limit, maxBytes, keysOnly, revision, countAll: false);
        return (page.Records, page.More);
    }

    public RangePage Range(KeyRange range, string? startAfter, long limit, long maxBytes, bool keysOnly, long revision, bool countAll)
    {
        var records = new List<KeyRecord>();
        long bytes = 0;
        var count = 0L;
        var more = false;
        foreach (var record in RecordsAt(range, startAfter, revision))
        {
            count++;
            if (more)
            {
                continue; // only counting now
            }

            var size = Encoding.UTF8.GetByteCount(record.Key) + (keysOnly ? 0 : record.Value.Length);
            if ((limit > 0 && records.Count == limit) || (records.Count > 0 && bytes + size > maxBytes))
            {
                more = true;
                if (!countAll)
                {
                    break;
                }

                continue;
            }

            records.Add(record);
            bytes += size;
        }

        return new RangePage(records, more, count);
    }

    public IReadOnlyList<KvEvent> History(string key) => _history.ForKey(key);

    public IReadOnlyList<RevisionEvents> EventsFrom(long revision, int limit) => _history.From(revision, limit);

    public LeaseInfo? FindLease(long id) => _leases.Find(id);

    public IEnumerable<LeaseInfo> Leases() => _leases.All();

    /// <summary>
    /// Hex SHA-256 of the replicated state: revision, skipped count, keys in order with their
    /// counters and leases, the leases, the compact revision, the auth store and the dedup window. The log's clock
    /// is left out: every entry moves it (barriers too), so replicas that hold the same keys would
    /// differ by whether they have applied the latest barrier yet.
    /// </summary>
    public string ComputeStateHash()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        void AddNumber(long value, Span<byte> buffer)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
            hash.AppendData(buffer);
        }

        AddNumber(Revision, number);
        AddNumber(SkippedEntries, number);
        AddNumber(_keys.Count, number);
        foreach (var record in _keys.Views())
        {
            AddNumber(record.Key.Length, number);
            hash.AppendData(record.Key.Span);
            AddNumber(record.Value.Length, number);
            hash.AppendData(record.Value.Span);
            AddNumber(record.CreateRevision, number);
            AddNumber(record.ModRevision, number);
            AddNumber(record.Version, number);
            AddNumber(record.Lease, number);
        }

        AddNumber(_leases.Count, number);
        foreach (var lease in _leases.All())
        {
            AddNumber(lease.Id, number);
            AddNumber(lease.TtlSeconds, number);
            AddNumber(lease.ExpiresAtMicros, number);
        }

        AddNumber(CompactRevision, number);
        hash.AppendData(_auth.View.State.ToByteArray());
        AddNumber(_recent.Count, number);
        Span<byte> id = stackalloc byte[16];
        foreach (var (_, guid) in _recent.Entries)
        {
            guid.TryWriteBytes(id);
            hash.AppendData(id);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// Captures the state for a snapshot. Cheap (the key space's copy shares its bytes and pages,
    /// see <see cref="KeySpace.Copy"/>), so it can be taken under the replica's lock and written out after.
    /// </summary>
    public StateCapture Capture() =>
        new(Revision, AppliedOffset, SkippedEntries, _keys.Copy(), [.. _recent.Entries], _recent.RememberedFrom, LogIdentity, LastEntryHash)
        {
            Leases = [.. _leases.All()],
            History = [.. _history.All],
            CompactRevision = CompactRevision,
            LogTimeMicros = LogTimeMicros,
            Auth = _auth.Capture(),
        };

    /// <summary>Rebuilds a state machine from a capture (a loaded snapshot).</summary>
    public static KvStateMachine Restore(StateCapture capture, int dedupWindowSize = DedupWindowSize, int historyRevisions = HistoryRevisions)
    {
        var state = new KvStateMachine(dedupWindowSize, historyRevisions)
        {
            Revision = capture.Revision,
            AppliedOffset = capture.AppliedOffset,
            SkippedEntries = capture.SkippedEntries,
            LogIdentity = capture.LogIdentity,
            LastEntryHash = capture.LastEntryHash,
            LogTimeMicros = capture.LogTimeMicros,
        };
        foreach (var lease in capture.Leases)
        {
            state._leases.Restore(lease);
        }

        state._keys = KeySpace.FromCopy(capture.Keys);
        foreach (var key in state._keys.Views().Where(k => k.Lease != 0))
        {
            state._leases.Attach(Encoding.UTF8.GetString(key.Key.Span), key.Lease);
        }

        state._recent.Restore(capture.RememberedFrom, capture.RecentIds);
        state._auth.Restore(capture.Auth);

        // A snapshot without history (an older format) knows no events up to its own revision:
        // watches and history start after it, and reads at a revision from its own revision on.
        state._history.Restore(capture.History.Count > 0 || capture.CompactRevision > 0 ? Math.Max(capture.CompactRevision, 1) : capture.Revision + 1, capture.History);
        return state;
    }

    private IEnumerable<KeyRecord> RecordsAt(KeyRange range, string? startAfter, long revision)
    {
        if (revision <= 0 || revision >= Revision)
        {
            return _keys.InRange(range, startAfter);
        }

        // The keys in range then: those here now and those changed since, each as it was.
        var candidates = new SortedSet<string>(_keys.InRange(range, startAfter).Select(r => r.Key), Utf8KeyComparer.Instance);
        foreach (var key in _history.ChangedAfter(range, revision))
        {
            if (startAfter is null || Utf8KeyComparer.Instance.Compare(key, startAfter) > 0)
            {
                candidates.Add(key);
            }
        }

        return candidates.Select(k => _history.ValueAt(k, _keys.Get(k), revision)).OfType<KeyRecord>();
    }

    private bool Advance(long offset, ByteString entryHash)
    {
        if (offset <= AppliedOffset)
        {
            return false;
        }

        if (offset == 0)
        {
            LogIdentity = entryHash;
        }

        AppliedOffset = offset;
        LastEntryHash = entryHash;
        return true;
    }

    /// <summary>Moves the log's clock on to <paramref name="proposedAtMicros"/> (never back) and expires the leases now due, each at a revision of its own.</summary>
    private void AdvanceClock(long proposedAtMicros)
    {
        LogTimeMicros = Math.Max(LogTimeMicros, proposedAtMicros);
        foreach (var id in _leases.Due(LogTimeMicros))
        {
            RevokeLease(id);
        }
    }

    private CommandResult Apply(long offset, Command command)
    {
        if (command.OpCase == Command.OpOneofCase.Barrier)
        {
            return new CommandResult(CommandOutcome.Barrier, Revision);
        }

        if (command.Id.Length != 16)
        {
            return Reject($"the command id is {command.Id.Length} bytes; it must be 16");
        }

        if (!_recent.TryAdd(new Guid(command.Id.Span), offset))
        {
            return new CommandResult(CommandOutcome.Duplicate, Revision);
        }

        if (Auth.Enabled && command.AuthRevision < Auth.Revision && command.OpCase is not (Command.OpOneofCase.Tick or Command.OpOneofCase.LeaseGrant or Command.OpOneofCase.LeaseKeepAlive))
        {
            // Checked against an older auth store (or with auth off): its permission may be gone.
            return new CommandResult(CommandOutcome.AuthRefused, Revision, Reason: AuthErrors.OldRevision);
        }

        return command.OpCase switch
        {
            Command.OpOneofCase.Put => Write(() => Put(command.Put)),
            Command.OpOneofCase.Delete => Write(() => Delete(command.Delete)),
            Command.OpOneofCase.Txn => Write(() => Txn(command.Txn)),
            Command.OpOneofCase.LeaseGrant => LeaseGrant(command.LeaseGrant),
            Command.OpOneofCase.LeaseRevoke => Write(() => LeaseRevoke(command.LeaseRevoke)),
            Command.OpOneofCase.LeaseKeepAlive => LeaseKeepAlive(command.LeaseKeepAlive),
            Command.OpOneofCase.Compact => Compact(command.Compact),
            Command.OpOneofCase.Tick => new CommandResult(CommandOutcome.NoChange, Revision),
            Command.OpOneofCase.Auth => _auth.Apply(command.Auth) is { } refused
                ? new CommandResult(CommandOutcome.AuthRefused, Revision, Reason: refused)
                : new CommandResult(CommandOutcome.Applied, Revision),
            _ => Reject("the command has no operation this version knows"),
        };
    }

    /// <summary>Runs a command that may write: whatever it changes lands at one new revision.</summary>
    private CommandResult Write(Func<CommandResult> write)
    {
        _pending = [];
        try
        {
            var result = write();
            Commit();
            return result;
        }
        finally
        {
            _pending = null;
        }
    }

    /// <summary>The revision the current write's changes get.</summary>
    private long WriteRevision => Revision + 1;

    private void Commit()
    {
        if (_pending is { Count: > 0 } changes)
        {
            Revision++;
            _history.Append(new RevisionEvents(Revision, changes));
        }
    }

    private CommandResult Put(PutOp put)
    {
        if (put.Key.Length == 0)
        {
            return Reject("the key is empty");
        }

        var existing = _keys.Get(put.Key);
        if (put.HasExpectedModRevision && (existing?.ModRevision ?? 0) != put.ExpectedModRevision)
        {
            return new CommandResult(CommandOutcome.PreconditionFailed, Revision, CurrentModRevision: existing?.ModRevision ?? 0);
        }

        if (CheckPut(put, existing) is { } refused)
        {
            return refused;
        }

        var revision = SetKey(put, existing);
        return new CommandResult(CommandOutcome.Applied, revision, Previous: put.ReturnPrevious ? existing : null);
    }

    /// <summary>
    /// Why a put cannot be applied (a lease that does not exist, a kept value or lease of a missing
    /// key, checked against <paramref name="existing"/>); null when it can. Callers pass the lookup
    /// they made: each one encodes, hashes and wraps the key.
    /// </summary>
    private CommandResult? CheckPut(PutOp put, KeyRecord? existing)
    {
        if ((put.IgnoreValue || put.IgnoreLease) && existing is null)
        {
            return new CommandResult(CommandOutcome.KeyNotFound, Revision, Reason: $"key '{put.Key}' does not exist, so there is no value or lease to keep");
        }

        return !put.IgnoreLease && put.Lease != 0 && !_leases.Exists(put.Lease)
            ? new CommandResult(CommandOutcome.LeaseNotFound, Revision, Reason: $"lease {put.Lease} does not exist (it expired, was revoked, or was never granted)")
            : null;
    }

    /// <summary>Sets a key as a put says (already checked, against <paramref name="existing"/>, the key as it is now); returns the revision it is written at.</summary>
    private long SetKey(PutOp put, KeyRecord? existing)
    {
        var revision = WriteRevision;
        var lease = put.IgnoreLease ? existing!.Lease : put.Lease;
        var value = put.IgnoreValue ? existing!.Value : put.Value;
        var record = new KeyRecord(put.Key, value, existing?.CreateRevision ?? revision, revision, (existing?.Version ?? 0) + 1, lease);
        if (existing is not null && existing.Lease != lease)
        {
            _leases.Detach(put.Key, existing.Lease);
        }

        _keys.Set(record);
        _leases.Attach(put.Key, lease);
        _pending!.Add(new KvEvent(EventType.Put, record, existing));
        return revision;
    }

    private CommandResult Delete(DeleteOp delete)
    {
        if (delete.Key.Length == 0 && delete.RangeEnd.IsEmpty)
        {
            return Reject("the key is empty");
        }

        var removed = DeleteRange(RangeOf(delete));
        return removed.Count == 0
            ? new CommandResult(CommandOutcome.NoChange, Revision)
            : new CommandResult(CommandOutcome.Applied, WriteRevision, Deleted: removed.Count) { DeletedRecords = delete.ReturnPrevious ? removed : null };
    }

    private List<KeyRecord> DeleteRange(KeyRange range)
    {
        var doomed = _keys.InRange(range).ToList();
        foreach (var record in doomed)
        {
            RemoveKey(record);
        }

        return doomed;
    }

    private void RemoveKey(KeyRecord record)
    {
        _keys.Remove(record.Key);
        _leases.Detach(record.Key, record.Lease);
        _pending!.Add(new KvEvent(EventType.Delete, KeyRecord.Tombstone(record.Key, WriteRevision), record));
    }

    private CommandResult Txn(TxnOp txn)
    {
        var succeeded = txn.Compares.All(Holds);
        var branch = succeeded ? txn.Success : txn.Failure;

        // A put that keeps a key's value or lease is checked against the state before the
        // transaction; a step before it that writes the same key would change what it keeps (a
        // delete would leave nothing to keep). etcd's API refuses a transaction that writes one
        // key twice, and the native API has no such put; one that reaches the log anyway is refused here.
        if (KeepsWhatAnEarlierStepWrote(branch))
        {
            return Reject("the transaction keeps the value or lease of a key that an earlier step writes; etcd refuses a transaction that writes one key more than once");
        }

        // A transaction applies whole or not at all: check what could refuse a step first.
        foreach (var step in branch)
        {
            if (step.OpCase == TxnStep.OpOneofCase.Put && CheckPut(step.Put, step.Put.IgnoreValue || step.Put.IgnoreLease ? _keys.Get(step.Put.Key) : null) is { } refused)
            {
                return refused;
            }
        }

        var steps = new List<TxnStepResult>(branch.Count);
        foreach (var step in branch)
        {
            steps.Add(step.OpCase switch
            {
                TxnStep.OpOneofCase.Put => PutStep(step.Put),
                TxnStep.OpOneofCase.Delete => DeleteStep(step.Delete),
                TxnStep.OpOneofCase.Range => RangeStep(step.Range),
                _ => new TxnStepResult(Revision),
            });
        }

        var wrote = _pending is { Count: > 0 };
        return new CommandResult(CommandOutcome.Applied, wrote ? WriteRevision : Revision) { Txn = new TxnOutcome(succeeded, steps) };
    }

    private static bool KeepsWhatAnEarlierStepWrote(IReadOnlyList<TxnStep> branch)
    {
        List<KeyRange>? written = null;
        foreach (var step in branch)
        {
            if (step.OpCase == TxnStep.OpOneofCase.Put && (step.Put.IgnoreValue || step.Put.IgnoreLease)
                && written?.Any(w => w.Contains(step.Put.Key)) == true)
            {
                return true;
            }

            KeyRange? write = step.OpCase switch
            {
                TxnStep.OpOneofCase.Put => KeyRange.Single(step.Put.Key),
                TxnStep.OpOneofCase.Delete => RangeOf(step.Delete),
                _ => null,
            };
            if (write is { } range)
            {
                (written ??= []).Add(range);
            }
        }

        return false;
    }

    private TxnStepResult PutStep(PutOp put)
    {
        var existing = _keys.Get(put.Key);
        return new TxnStepResult(SetKey(put, existing), put.ReturnPrevious ? existing : null);
    }

    private TxnStepResult DeleteStep(DeleteOp delete)
    {
        var removed = DeleteRange(RangeOf(delete));
        return new TxnStepResult(WriteRevision, Records: delete.ReturnPrevious ? removed : [], Count: removed.Count);
    }

    private TxnStepResult RangeStep(RangeOp range)
    {
        // Reads inside a transaction see its earlier writes, at the revision they will get.
        var page = Range(KeyRange.FromEtcd(range.Key, range.RangeEnd.Span), null, range.Limit, long.MaxValue, range.KeysOnly, 0, countAll: true);
        return new TxnStepResult(_pending is { Count: > 0 } ? WriteRevision : Revision, Records: range.CountOnly ? [] : page.Records, Count: page.Count, More: page.More);
    }

    /// <summary>Whether a compare holds, as etcd decides it: for every key in its range, or for an absent key's zero counters; a value never matches an absent key.</summary>
    private bool Holds(CompareOp compare)
    {
        var records = _keys.InRange(KeyRange.FromEtcd(compare.Key, compare.RangeEnd.Span)).ToList();
        if (records.Count == 0)
        {
            return compare.TargetCase != CompareOp.TargetOneofCase.Value && Holds(compare, new KeyRecord(compare.Key, ByteString.Empty, 0, 0, 0));
        }

        return records.All(r => Holds(compare, r));
    }

    private static bool Holds(CompareOp compare, KeyRecord record)
    {
        var order = compare.TargetCase switch
        {
            CompareOp.TargetOneofCase.Value => record.Value.Span.SequenceCompareTo(compare.Value.Span),
            CompareOp.TargetOneofCase.Version => record.Version.CompareTo(compare.Version),
            CompareOp.TargetOneofCase.CreateRevision => record.CreateRevision.CompareTo(compare.CreateRevision),
            CompareOp.TargetOneofCase.ModRevision => record.ModRevision.CompareTo(compare.ModRevision),
            CompareOp.TargetOneofCase.Lease => record.Lease.CompareTo(compare.Lease),
            _ => 0, // no target: compare a zero value, as etcd does
        };
        return compare.Result switch
        {
            CompareOp.Types.Result.Equal => order == 0,
            CompareOp.Types.Result.NotEqual => order != 0,
            CompareOp.Types.Result.Greater => order > 0,
            CompareOp.Types.Result.Less => order < 0,
            _ => false,
        };
    }

    private CommandResult LeaseGrant(LeaseGrantOp grant)
    {
        if (grant.Id <= 0 || grant.TtlSeconds <= 0)
        {
            return Reject($"a lease needs an id and a TTL above 0 (id {grant.Id}, TTL {grant.TtlSeconds})");
        }

        return _leases.TryGrant(grant.Id, grant.TtlSeconds, LogTimeMicros)
            ? new CommandResult(CommandOutcome.Applied, Revision) { Lease = _leases.Find(grant.Id) }
            : new CommandResult(CommandOutcome.LeaseExists, Revision, Reason: $"lease {grant.Id} already exists");
    }

    private CommandResult LeaseRevoke(LeaseRevokeOp revoke)
    {
        if (!_leases.Exists(revoke.Id))
        {
            return new CommandResult(CommandOutcome.LeaseNotFound, Revision, Reason: $"lease {revoke.Id} does not exist (it expired, was revoked, or was never granted)");
        }

        var deleted = RevokeLease(revoke.Id);
        return new CommandResult(CommandOutcome.Applied, deleted > 0 ? WriteRevision : Revision, Deleted: deleted);
    }

    /// <summary>Ends a lease and deletes its keys at one revision (of its own unless a write is already under way); returns how many keys went.</summary>
    private int RevokeLease(long id)
    {
        var keys = _leases.Remove(id) ?? [];
        var own = _pending is null;
        if (own)
        {
            _pending = [];
        }

        try
        {
            foreach (var key in keys)
            {
                if (_keys.Get(key) is { } record)
                {
                    RemoveKey(record);
                }
            }

            if (own)
            {
                Commit();
            }
        }
        finally
        {
            if (own)
            {
                _pending = null;
            }
        }

        return keys.Count;
    }

    private CommandResult LeaseKeepAlive(LeaseKeepAliveOp keepAlive) =>
        _leases.KeepAlive(keepAlive.Id, LogTimeMicros) is { } lease
            ? new CommandResult(CommandOutcome.Applied, Revision) { Lease = lease }
            : new CommandResult(CommandOutcome.LeaseNotFound, Revision, Reason: $"lease {keepAlive.Id} does not exist (it expired, was revoked, or was never granted)");

    private CommandResult Compact(CompactOp compact)
    {
        if (compact.Revision > Revision)
        {
            return new CommandResult(CommandOutcome.FutureRevision, Revision, Reason: $"revision {compact.Revision} is in the future; the store is at revision {Revision}") { CompactRevision = CompactRevision };
        }

        if (compact.Revision <= CompactRevision)
        {
            return new CommandResult(CommandOutcome.Compacted, Revision, Reason: $"revision {compact.Revision} is compacted already; the compact revision is {CompactRevision}") { CompactRevision = CompactRevision };
        }

        _history.Compact(compact.Revision);
        return new CommandResult(CommandOutcome.Applied, Revision) { CompactRevision = CompactRevision };
    }

    /// <summary>The keys a delete names: its etcd range, its prefix, or its key.</summary>
    public static KeyRange RangeOf(DeleteOp delete) =>
        !delete.RangeEnd.IsEmpty ? KeyRange.FromEtcd(delete.Key, delete.RangeEnd.Span)
        : delete.Prefix ? KeyRange.Prefix(delete.Key)
        : KeyRange.Single(delete.Key);

    private CommandResult Reject(string reason) => new(CommandOutcome.Rejected, Revision, Reason: reason);
}

/// <summary>Why a read at a revision cannot be served: it is compacted, or in the future.</summary>
public sealed record ReadError(CommandOutcome Outcome, long CompactRevision, long Revision);

/// <summary>One page of a range read: its records, whether more follow, and how many keys the range holds in all (when counted).</summary>
public sealed record RangePage(List<KeyRecord> Records, bool More, long Count);

/// <summary>The whole replicated state at one log offset: what a snapshot holds.</summary>
public sealed record StateCapture(
    long Revision,
    long AppliedOffset,
    long SkippedEntries,
    KeySpaceCopy Keys,
    IReadOnlyList<(long Offset, Guid Id)> RecentIds,
    long RememberedFrom,
    ByteString LogIdentity,
    ByteString LastEntryHash)
{
    public IReadOnlyList<LeaseInfo> Leases { get; init; } = [];

    public IReadOnlyList<RevisionEvents> History { get; init; } = [];

    public long CompactRevision { get; init; }

    public long LogTimeMicros { get; init; }

    /// <summary>The users, roles and permissions; null in a snapshot from before auth (an empty store).</summary>
    public AuthState? Auth { get; init; }
}
