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

    KeyRecord? Get(string key);

    /// <summary>
    /// Keys that start with <paramref name="prefix"/>, in UTF-8 byte order, after
    /// <paramref name="startAfter"/> when given. Stops at <paramref name="limit"/> entries (0: no
    /// limit) or before the page would hold more than <paramref name="maxBytes"/> of keys (and
    /// values, unless <paramref name="keysOnly"/>). A page always holds at least one entry when one matches.
    /// </summary>
    (List<KeyRecord> Entries, bool More) List(string prefix, string? startAfter, int limit, long maxBytes, bool keysOnly = false);

    /// <summary>Hex SHA-256 of the replicated state; replicas at the same offset have the same hash.</summary>
    string ComputeStateHash();
}
