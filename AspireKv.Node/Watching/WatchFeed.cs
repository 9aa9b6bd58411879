using System.Runtime.CompilerServices;
using AspireKv.Node.Replication;
using AspireKv.Node.StateMachine;

namespace AspireKv.Node.Watching;

/// <summary>
/// The revisions one watch receives: what the history holds from its start revision on, a page at
/// a time, then, registered under the same lock that applies revisions, the live ones. No gap and
/// no duplicate between the two. Both the native and the etcd Watch read it.
/// </summary>
public static class WatchFeed
{
    /// <summary>How many revisions are read from the history at a time while a watch catches up.</summary>
    private const int CatchUpPage = 256;

    /// <summary>
    /// The revisions from <paramref name="start"/> on that touched <paramref name="range"/>, each
    /// with only those keys' events. Throws <see cref="WatchCompactedException"/> when the start
    /// revision is compacted, and <see cref="WatchStoppedException"/> when the node stops a watcher
    /// that fell behind.
    /// </summary>
    public static async IAsyncEnumerable<RevisionEvents> FollowAsync(Replica replica, KeyRange range, long start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = start;
        Watcher? watcher = null;
        try
        {
            while (watcher is null)
            {
                var page = replica.Read(state =>
                {
                    if (next <= state.Revision && next < state.CompactRevision)
                    {
                        throw new WatchCompactedException(new ReadError(CommandOutcome.Compacted, state.CompactRevision, state.Revision), next);
                    }

                    var events = state.EventsFrom(next, CatchUpPage);
                    if (events.Count == 0)
                    {
                        watcher = replica.Watches.Register(range, previous: true, next);
                    }

                    return events;
                });
                foreach (var revision in page)
                {
                    if (Watcher.Select(range, revision) is { } mine)
                    {
                        yield return mine;
                    }

                    next = revision.Revision + 1;
                }
            }

            await foreach (var revision in watcher.Revisions.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return revision;
            }

            throw new WatchStoppedException(watcher.CancelReason ?? "the watch ended");
        }
        finally
        {
            watcher?.Dispose();
        }
    }
}

/// <summary>A watch asked for a revision the history no longer holds.</summary>
public sealed class WatchCompactedException(ReadError error, long asked) : Exception($"revision {asked} has been compacted; the oldest revision served is {error.CompactRevision}")
{
    public ReadError Error { get; } = error;

    public long Asked { get; } = asked;
}

/// <summary>The node stopped a watcher (it fell behind); the message says why and from where to watch again.</summary>
public sealed class WatchStoppedException(string reason) : Exception(reason);
