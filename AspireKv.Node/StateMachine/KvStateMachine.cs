using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using AspireKv.Node.Commands;
using Google.Protobuf;

namespace AspireKv.Node.StateMachine;

/// <summary>
/// The replicated state: keys with their counters, the store revision, the window of recently
/// applied command ids, the log's identity, and how far the log has been applied.
/// Deterministic and free of I/O: given the same log it reaches the same state on every replica.
/// Not thread-safe; the replica serializes access.
/// </summary>
public sealed class KvStateMachine : IStateView
{
    /// <summary>How many recent command ids are remembered to drop duplicates. Part of the replicated state.</summary>
    public const int DedupWindowSize = 100_000;

    private readonly Dictionary<string, KeyRecord> _keys = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _order = new(Utf8KeyComparer.Instance);
    private readonly DedupWindow _recent;

    public KvStateMachine(int dedupWindowSize = DedupWindowSize) => _recent = new DedupWindow(dedupWindowSize);

    public long Revision { get; private set; }

    public long AppliedOffset { get; private set; } = -1;

    public long SkippedEntries { get; private set; }

    public int KeyCount => _keys.Count;

    public ByteString LogIdentity { get; private set; } = ByteString.Empty;

    public ByteString LastEntryHash { get; private set; } = ByteString.Empty;

    public long RememberedFrom => _recent.RememberedFrom;

    /// <summary>
    /// Applies the entry at <paramref name="offset"/> (whose bytes hash to <paramref name="entryHash"/>),
    /// appending one result per command to <paramref name="results"/>. An entry at or below
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

    public KeyRecord? Get(string key) => _keys.GetValueOrDefault(key);

    /// <summary>
    /// Keys that start with <paramref name="prefix"/>, in UTF-8 byte order, after
    /// <paramref name="startAfter"/> when given. Stops at <paramref name="limit"/> entries (0: no
    /// limit) or before the page would hold more than <paramref name="maxBytes"/> of keys (and
    /// values, unless <paramref name="keysOnly"/>). A page always holds at least one entry when one matches.
    /// </summary>
    public (List<KeyRecord> Entries, bool More) List(string prefix, string? startAfter, int limit, long maxBytes, bool keysOnly = false)
    {
        var entries = new List<KeyRecord>();
        var start = startAfter is not null && Utf8KeyComparer.Instance.Compare(startAfter, prefix) > 0 ? startAfter : prefix;
        if (_order.Count == 0 || Utf8KeyComparer.Instance.Compare(start, _order.Max) > 0)
        {
            return (entries, false);
        }

        long bytes = 0;
        foreach (var key in _order.GetViewBetween(start, _order.Max!))
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                break;
            }

            if (key == startAfter)
            {
                continue;
            }

            var record = _keys[key];
            var size = Encoding.UTF8.GetByteCount(record.Key) + (keysOnly ? 0 : record.Value.Length);
            if ((limit > 0 && entries.Count == limit) || (entries.Count > 0 && bytes + size > maxBytes))
            {
                return (entries, true);
            }

            entries.Add(record);
            bytes += size;
        }

        return (entries, false);
    }

    /// <summary>Hex SHA-256 of the replicated state: revision, skipped count, keys in order with their counters, and the dedup window.</summary>
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
        foreach (var key in _order)
        {
            var record = _keys[key];
            var keyBytes = Encoding.UTF8.GetBytes(key);
            AddNumber(keyBytes.Length, number);
            hash.AppendData(keyBytes);
            AddNumber(record.Value.Length, number);
            hash.AppendData(record.Value.Span);
            AddNumber(record.CreateRevision, number);
            AddNumber(record.ModRevision, number);
            AddNumber(record.Version, number);
        }

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
    /// Captures the state for a snapshot. Cheap (references to immutable records), so it can be
    /// taken under the replica's lock and written out after.
    /// </summary>
    public StateCapture Capture() =>
        new(Revision, AppliedOffset, SkippedEntries, [.. _order.Select(k => _keys[k])], [.. _recent.Entries], _recent.RememberedFrom, LogIdentity, LastEntryHash);

    /// <summary>Rebuilds a state machine from a capture (a loaded snapshot).</summary>
    public static KvStateMachine Restore(StateCapture capture, int dedupWindowSize = DedupWindowSize)
    {
        var state = new KvStateMachine(dedupWindowSize)
        {
            Revision = capture.Revision,
            AppliedOffset = capture.AppliedOffset,
            SkippedEntries = capture.SkippedEntries,
            LogIdentity = capture.LogIdentity,
            LastEntryHash = capture.LastEntryHash,
        };
        foreach (var record in capture.Records)
        {
            state._keys[record.Key] = record;
            state._order.Add(record.Key);
        }

        state._recent.Restore(capture.RememberedFrom, capture.RecentIds);
        return state;
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

        return command.OpCase switch
        {
            Command.OpOneofCase.Put => Put(command.Put),
            Command.OpOneofCase.Delete => Delete(command.Delete),
            _ => Reject("the command has no operation this version knows"),
        };
    }

    private CommandResult Put(PutOp put)
    {
        if (put.Key.Length == 0)
        {
            return Reject("the key is empty");
        }

        var existing = _keys.GetValueOrDefault(put.Key);
        if (put.HasExpectedModRevision && (existing?.ModRevision ?? 0) != put.ExpectedModRevision)
        {
            return new CommandResult(CommandOutcome.PreconditionFailed, Revision, CurrentModRevision: existing?.ModRevision ?? 0);
        }

        var revision = ++Revision;
        _keys[put.Key] = new KeyRecord(put.Key, put.Value, existing?.CreateRevision ?? revision, revision, (existing?.Version ?? 0) + 1);
        if (existing is null)
        {
            _order.Add(put.Key);
        }

        return new CommandResult(CommandOutcome.Applied, revision, Previous: put.ReturnPrevious ? existing : null);
    }

    private CommandResult Delete(DeleteOp delete)
    {
        if (delete.Key.Length == 0)
        {
            return Reject("the key is empty");
        }

        List<string> doomed;
        if (delete.Prefix)
        {
            var (matches, _) = List(delete.Key, null, 0, long.MaxValue);
            doomed = matches.ConvertAll(r => r.Key);
        }
        else
        {
            doomed = _keys.ContainsKey(delete.Key) ? [delete.Key] : [];
        }

        if (doomed.Count == 0)
        {
            return new CommandResult(CommandOutcome.NoChange, Revision);
        }

        foreach (var key in doomed)
        {
            _keys.Remove(key);
            _order.Remove(key);
        }

        return new CommandResult(CommandOutcome.Applied, ++Revision, Deleted: doomed.Count);
    }

    private CommandResult Reject(string reason) => new(CommandOutcome.Rejected, Revision, Reason: reason);
}

/// <summary>The whole replicated state at one log offset: what a snapshot holds.</summary>
public sealed record StateCapture(
    long Revision,
    long AppliedOffset,
    long SkippedEntries,
    IReadOnlyList<KeyRecord> Records,
    IReadOnlyList<(long Offset, Guid Id)> RecentIds,
    long RememberedFrom,
    ByteString LogIdentity,
    ByteString LastEntryHash);
