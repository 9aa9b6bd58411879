using System.Runtime.CompilerServices;
using System.Threading.Channels;
using AspireKv.Node.Replication.RabbitMq;
using AspireKv.Streams;

namespace AspireKv.Node.Replication.Streams;

/// <summary>Reading the stream: a subscription at an offset with credit for a few chunks at a time, and the check of where the log ends.</summary>
public sealed partial class StreamReplicationLog
{
    /// <summary>How many chunks may be on their way to a reader at once: the bound on what a slow reader holds.</summary>
    private const ushort Credit = 16;

    public async IAsyncEnumerable<LogRecord> ReadAsync(long resumeAfter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The entry to resume at: the one applied last (its redelivery proves the log still holds
        // it), or the log's first for a node that has applied nothing.
        var resume = resumeAfter;
        while (true)
        {
            var from = Math.Max(resume, 0);
            var (session, id, chunks) = await SubscribeAsync(StreamOffset.At(from), cancellationToken).ConfigureAwait(false);
            try
            {
                var first = true;
                while (true)
                {
                    if (first && resume >= 0 && !await WaitAsync(chunks, ResumeCheckDelay, cancellationToken).ConfigureAwait(false))
                    {
                        // An offset past the end of the log is never delivered, not even once new
                        // entries come: check that the log still reaches the entry applied last.
                        var last = await LastOffsetAsync(session, cancellationToken).ConfigureAwait(false);
                        if (last < resume && !session.IsEnded)
                        {
                            throw new LogDivergedException(resume, last);
                        }

                        continue;
                    }

                    if (!await chunks.WaitToReadAsync(cancellationToken).ConfigureAwait(false) || !chunks.TryRead(out var chunk))
                    {
                        break;
                    }

                    if (chunk.Type == 0 && chunk.Records.Count > 0)
                    {
                        if (first)
                        {
                            first = false;

                            // A numeric offset the stream no longer holds is moved to its start. The
                            // entry asked for is a real one (applied before, or the first), so a first
                            // chunk past it means the log was truncated under this node. Later gaps
                            // are the stream's own bookkeeping, not lost entries.
                            if (chunk.FirstOffset > from)
                            {
                                throw new LogTruncatedException(from, chunk.FirstOffset);
                            }
                        }

                        for (var i = 0; i < chunk.Records.Count; i++)
                        {
                            // Delivery starts at the beginning of a chunk, which can be before the offset asked for.
                            var offset = chunk.FirstOffset + i;
                            if (offset < from)
                            {
                                continue;
                            }

                            // A message that is not AMQP 1.0 is handed on as it is: the applier skips what it cannot decode.
                            var record = chunk.Records[i];
                            yield return new LogRecord(offset, AmqpMessage.TryUnwrap(record, out var body) ? body : record);
                            resume = offset;
                        }
                    }

                    GrantCredit(session, id, 1);
                }
            }
            finally
            {
                await UnsubscribeAsync(session, id).ConfigureAwait(false);
            }

            _logger.LogInformation("The stream subscription stopped; subscribing again at offset {Offset}.", resume);
        }
    }

    /// <summary>Waits for a session, then subscribes at <paramref name="offset"/>; retries until it has a subscription.</summary>
    private async Task<(Session Session, byte Id, ChannelReader<StreamChunk> Chunks)> SubscribeAsync(StreamOffset offset, CancellationToken cancellationToken)
    {
        while (true)
        {
            var session = await _sessions.WaitAsync(s => !s.IsEnded, cancellationToken).ConfigureAwait(false);
            var (id, chunks) = session.AddSubscription();
            try
            {
                await session.Connection.SubscribeAsync(id, _options.Stream, offset, Credit, cancellationToken).ConfigureAwait(false);
                return (session, id, chunks);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                session.Unsubscribe(id);
                _logger.LogWarning("Could not subscribe to stream '{Stream}' at {Offset}: {Error}", _options.Stream, offset, RabbitMqReplicationLog.Cause(ex));
                await Task.Delay(_options.ReconnectDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Where the log ends: the last chunk, read from a short-lived subscription at <c>last</c>.
    /// Returns the offset of its last record, -1 for an empty log (or a session that ended meanwhile).
    /// </summary>
    private async Task<long> LastOffsetAsync(Session session, CancellationToken cancellationToken)
    {
        var (id, chunks) = session.AddSubscription();
        try
        {
            await session.Connection.SubscribeAsync(id, _options.Stream, StreamOffset.Last, 1, cancellationToken).ConfigureAwait(false);
            var last = -1L;
            var wait = TimeSpan.FromSeconds(3);
            while (await WaitAsync(chunks, wait, cancellationToken).ConfigureAwait(false) && chunks.TryRead(out var chunk))
            {
                if (chunk.Type == 0)
                {
                    last = Math.Max(last, chunk.FirstOffset + chunk.Records.Count - 1);
                }

                GrantCredit(session, id, 1);
                wait = TimeSpan.FromMilliseconds(300); // a chunk written meanwhile comes at once
            }

            return last;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning("Could not find where stream '{Stream}' ends: {Error}", _options.Stream, RabbitMqReplicationLog.Cause(ex));
            session.Connection.End($"finding where the stream ends failed: {RabbitMqReplicationLog.Cause(ex)}");
            return -1;
        }
        finally
        {
            await UnsubscribeAsync(session, id).ConfigureAwait(false);
        }
    }

    /// <summary>True once a chunk waits (or the subscription has ended); false when <paramref name="timeout"/> passed first.</summary>
    private static async Task<bool> WaitAsync(ChannelReader<StreamChunk> chunks, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(timeout);
        try
        {
            await chunks.WaitToReadAsync(wait.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static void GrantCredit(Session session, byte id, ushort chunks)
    {
        try
        {
            session.Connection.Credit(id, chunks);
        }
        catch (IOException)
        {
            // The connection is gone; the subscription's reader notices and starts over.
        }
    }

    private static async Task UnsubscribeAsync(Session session, byte id)
    {
        session.Unsubscribe(id);
        if (session.IsEnded)
        {
            return;
        }

        try
        {
            await session.Connection.UnsubscribeAsync(id, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Gone, or it refused: a session that cannot unsubscribe ends anyway.
        }
    }
}
