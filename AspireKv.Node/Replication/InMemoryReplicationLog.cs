using System.Runtime.CompilerServices;

namespace AspireKv.Node.Replication;

/// <summary>
/// A log in this process's memory, for one node on its own (development, and tests of the
/// replica). It keeps every entry and forgets them all when the process ends.
/// </summary>
public sealed class InMemoryReplicationLog : IReplicationLog
{
    private readonly List<byte[]> _entries = [];
    private long _firstOffset;
    private TaskCompletionSource _appended = NewSignal();

    public string Destination => "in-memory";

    public LogAvailability Availability => LogAvailability.Available(1);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task AppendAsync(ReadOnlyMemory<byte> entry, CancellationToken cancellationToken)
    {
        TaskCompletionSource signal;
        lock (_entries)
        {
            _entries.Add(entry.ToArray());
            signal = _appended;
            _appended = NewSignal();
        }

        signal.TrySetResult();
        return Task.CompletedTask;
    }

    public Task WaitForSessionAsync(long afterSession, CancellationToken cancellationToken) =>
        afterSession < 1 ? Task.CompletedTask : Task.Delay(Timeout.Infinite, cancellationToken);

    /// <summary>Drops every entry before <paramref name="offset"/>, as stream retention would.</summary>
    public void TruncateBefore(long offset)
    {
        lock (_entries)
        {
            var count = (int)Math.Clamp(offset - _firstOffset, 0, _entries.Count);
            _entries.RemoveRange(0, count);
            _firstOffset += count;
        }
    }

    public async IAsyncEnumerable<LogRecord> ReadAsync(long resumeAfter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = Math.Max(resumeAfter, 0);
        lock (_entries)
        {
            if (next < _firstOffset)
            {
                throw new LogTruncatedException(next, _firstOffset);
            }

            if (resumeAfter >= 0 && resumeAfter >= _firstOffset + _entries.Count)
            {
                throw new LogDivergedException(resumeAfter, _firstOffset + _entries.Count - 1);
            }
        }

        while (true)
        {
            Task wait;
            var batch = new List<LogRecord>();
            lock (_entries)
            {
                for (var offset = next; offset < _firstOffset + _entries.Count; offset++)
                {
                    batch.Add(new LogRecord(offset, _entries[(int)(offset - _firstOffset)]));
                }

                wait = _appended.Task;
            }

            foreach (var record in batch)
            {
                yield return record;
                next = record.Offset + 1;
            }

            if (batch.Count == 0)
            {
                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
