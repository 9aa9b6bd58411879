using System.Threading.Channels;
using AspireKv.Node.StateMachine;

namespace AspireKv.Node.Watching;

/// <summary>
/// The watches open on this node. The log applier hands it every revision it applies, in order;
/// each watcher keeps the ones that touch its keys in a bounded queue of its own. A watcher
/// whose queue is full (its client does not read fast enough) is cancelled with the reason,
/// so that no watcher can make the node buffer without limit.
/// </summary>
public sealed class WatchHub(int capacity = WatchHub.DefaultCapacity)
{
    /// <summary>How many revisions a watcher may have waiting before it is cancelled.</summary>
    public const int DefaultCapacity = 1024;

    private readonly Lock _gate = new();
    private readonly List<Watcher> _watchers = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _watchers.Count;
            }
        }
    }

    /// <summary>
    /// Adds a watcher that takes revisions from <paramref name="next"/> on. Call it while no
    /// revision after <paramref name="next"/> - 1 can be applied (under the state's lock), so that
    /// none is missed; revisions before it that arrive later are skipped, so none comes twice.
    /// </summary>
    public Watcher Register(KeyRange range, bool previous, long next)
    {
        var watcher = new Watcher(this, range, previous, next, capacity);
        lock (_gate)
        {
            _watchers.Add(watcher);
        }

        return watcher;
    }

    /// <summary>Hands applied revisions to every watcher, in revision order.</summary>
    public void Publish(IReadOnlyList<RevisionEvents> revisions)
    {
        Watcher[] watchers;
        lock (_gate)
        {
            if (_watchers.Count == 0)
            {
                return;
            }

            watchers = [.. _watchers];
        }

        foreach (var revision in revisions)
        {
            foreach (var watcher in watchers)
            {
                watcher.Offer(revision);
            }
        }
    }

    /// <summary>Cancels every watcher with <paramref name="reason"/>, for when the state jumped and their revisions cannot go on.</summary>
    public void CancelAll(string reason)
    {
        Watcher[] watchers;
        lock (_gate)
        {
            watchers = [.. _watchers];
        }

        foreach (var watcher in watchers)
        {
            watcher.Cancel(reason);
        }
    }

    internal void Remove(Watcher watcher)
    {
        lock (_gate)
        {
            _watchers.Remove(watcher);
        }
    }
}

/// <summary>One watch: the keys it follows, and the revisions that touched them, waiting to be sent.</summary>
public sealed class Watcher : IDisposable
{
    private readonly WatchHub _hub;
    private readonly Channel<RevisionEvents> _queue;
    private long _next;

    internal Watcher(WatchHub hub, KeyRange range, bool previous, long next, int capacity)
    {
        _hub = hub;
        Range = range;
        Previous = previous;
        _next = next;
        _queue = Channel.CreateBounded<RevisionEvents>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    public KeyRange Range { get; }

    /// <summary>Whether its events carry the entries as they were before.</summary>
    public bool Previous { get; }

    /// <summary>Why the watcher was cancelled; null while it runs.</summary>
    public string? CancelReason { get; private set; }

    /// <summary>The revisions that touched the watched keys, in order, each with only those keys' events; ends when the watcher is cancelled.</summary>
    public ChannelReader<RevisionEvents> Revisions => _queue.Reader;

    /// <summary>The part of <paramref name="revision"/> that touched <paramref name="range"/>, or null when it touched none of it.</summary>
    public static RevisionEvents? Select(KeyRange range, RevisionEvents revision)
    {
        List<KvEvent>? mine = null;
        foreach (var change in revision.Events)
        {
            if (range.Contains(change.Record.Key))
            {
                (mine ??= []).Add(change);
            }
        }

        return mine is null ? null : new RevisionEvents(revision.Revision, mine);
    }

    public void Dispose()
    {
        _hub.Remove(this);
        _queue.Writer.TryComplete();
    }

    internal void Offer(RevisionEvents revision)
    {
        if (revision.Revision < _next || CancelReason is not null)
        {
            return;
        }

        _next = revision.Revision + 1;
        if (Select(Range, revision) is { } mine && !_queue.Writer.TryWrite(mine))
        {
            Cancel($"the watcher fell {_queue.Reader.Count} revisions behind (its client does not read fast enough), so the node stopped it; watch again from revision {mine.Revision}");
        }
    }

    internal void Cancel(string reason)
    {
        CancelReason ??= reason;
        _hub.Remove(this);
        _queue.Writer.TryComplete();
    }
}
