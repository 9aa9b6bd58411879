using AspireKv.Node.StateMachine;
using Google.Protobuf;

namespace AspireKv.Node.Replication;

/// <summary>
/// Where a replica gets a whole state when the log alone cannot bring it up to date: its
/// retention removed entries the replica still needs, or the replica is new and the log no longer
/// starts at offset 0. In a node, that is a snapshot from a peer (<c>PeerSnapshotFetcher</c>).
/// </summary>
public interface IStateSource
{
    /// <summary>
    /// A verified state of the log <paramref name="logIdentity"/> (any log, when empty) that has
    /// applied at least <paramref name="minAppliedOffset"/>, already kept durably as this node's
    /// snapshot. Throws <see cref="StateUnavailableException"/> when no source can give one.
    /// </summary>
    Task<FetchedState> FetchAsync(ByteString logIdentity, long minAppliedOffset, CancellationToken cancellationToken);
}

/// <summary>A state fetched from <paramref name="From"/>.</summary>
public sealed record FetchedState(KvStateMachine State, string From);

/// <summary>No source could give a state; the message says what each one answered.</summary>
public sealed class StateUnavailableException(string message) : Exception(message);
