using Google.Protobuf;

namespace AspireKv.Node.StateMachine;

/// <summary>
/// What readers may see of the replicated state: reads only. The replica hands this to readers
/// under its lock; only the log applier changes the state.
/// </summary>
public interface IStateView
{
    /// <summary>The revision of the last write applied; 0 for an empty store.</summary>
    long Revision { get; }

    /// <summary>The offset of the last log entry applied or skipped; -1 before the first.</summary>
    long AppliedOffset { get; }

    /// <summary>Log entries skipped because they could not be decoded or belonged to another log.</summary>
    long SkippedEntries { get; }

    int KeyCount { get; }

    /// <summary>The log's identity (a hash of its first entry); empty before that entry is applied.</summary>
    ByteString LogIdentity { get; }

    /// <summary>A hash of the entry at <see cref="AppliedOffset"/>, to check on resuming that the log still holds it.</summary>
    ByteString LastEntryHash { get; }

    /// <summary>Every command applied at this offset or later is remembered (see <see cref="DedupWindow"/>).</summary>
    long RememberedFrom { get; }

    /// <summary>The oldest revision still served by reads at a revision, History and Watch.</summary>
    long CompactRevision { get; }

    /// <summary>The log's clock (Unix microseconds): the newest proposer timestamp applied. Leases expire by it.</summary>
    long LogTimeMicros { get; }

    KeyRecord? Get(string key);

    /// <summary>The key as it was at <paramref name="revision"/> (0: now); check the revision with <see cref="CheckRevision"/> first.</summary>
    KeyRecord? Get(string key, long revision);

    /// <summary>Why a read at <paramref name="revision"/> cannot be served; null when it can (0 is always now).</summary>
    ReadError? CheckRevision(long revision);

    /// <summary>
    /// Keys that start with <paramref name="prefix"/>, in UTF-8 byte order, after
    /// <paramref name="startAfter"/> when given, as they were at <paramref name="revision"/> (0: now).
    /// Stops at <paramref name="limit"/> entries (0: no limit) or before the page would hold more
    /// than <paramref name="maxBytes"/> of keys (and values, unless <paramref name="keysOnly"/>). A
    /// page always holds at least one entry when one matches.
    /// </summary>
    (List<KeyRecord> Entries, bool More) List(string prefix, string? startAfter, int limit, long maxBytes, bool keysOnly = false, long revision = 0);

    /// <summary>A range read as etcd's Range does it; <paramref name="countAll"/> also counts every key in the range.</summary>
    RangePage Range(KeyRange range, string? startAfter, long limit, long maxBytes, bool keysOnly, long revision, bool countAll);

    /// <summary>A key's changes still in the history, oldest first.</summary>
    IReadOnlyList<KvEvent> History(string key);

    /// <summary>The history's revisions from <paramref name="revision"/> on, at most <paramref name="limit"/> of them.</summary>
    IReadOnlyList<RevisionEvents> EventsFrom(long revision, int limit);

    LeaseInfo? FindLease(long id);

    IEnumerable<LeaseInfo> Leases();

    /// <summary>Hex SHA-256 of the replicated state; replicas at the same offset have the same hash.</summary>
    string ComputeStateHash();
}
