namespace AspireKv.Node.Replication;

/// <summary>
/// A broker log's current session (one connection at a time), why there is none, and how many
/// there have been: what its writers, readers and supervisor share. Sessions are numbered from 1;
/// a writer that failed in one waits for a newer one.
/// </summary>
internal sealed class LogSessions<TSession>(string detail)
    where TSession : class
{
    private readonly Lock _gate = new();
    private TSession? _current;
    private string _detail = detail;
    private long _count;
    private TaskCompletionSource _changed = NewSignal();

    /// <summary>The session in use (null while there is none), why there is none, and the number of the newest session.</summary>
    public (TSession? Session, string Detail, long Count) Current
    {
        get
        {
            lock (_gate)
            {
                return (_current, _detail, _count);
            }
        }
    }

    /// <summary>The number of the newest session made so far.</summary>
    public long Count => Current.Count;

    /// <summary>Makes <paramref name="session"/> (numbered <paramref name="number"/>) current, or clears it with <paramref name="detail"/> saying why.</summary>
    public void Set(TSession? session, string detail, long number = 0)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _current = session;
            _detail = detail;
            _count = Math.Max(_count, number);
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    /// <summary>Completes with the current session once <paramref name="accept"/> takes it.</summary>
    public async Task<TSession> WaitAsync(Func<TSession, bool> accept, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_current is { } session && accept(session))
                {
                    return session;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The pause before the next connection attempt: waits <paramref name="delay"/>, and returns the
    /// next one (doubled, up to <see cref="ReplicationOptions.MaxReconnectDelay"/>); null once stopping.
    /// </summary>
    public static async Task<TimeSpan?> BackOffAsync(TimeSpan delay, ReplicationOptions options, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        return TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxReconnectDelay.Ticks));
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
