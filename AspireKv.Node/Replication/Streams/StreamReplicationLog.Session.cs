using System.Diagnostics;
using System.Threading.Channels;
using AspireKv.Streams;

namespace AspireKv.Node.Replication.Streams;

/// <summary>A session: one connection, the entries that wait for a confirm on it, and its subscriptions.</summary>
public sealed partial class StreamReplicationLog
{
    /// <summary>An entry on its way into the stream: its message, and its publishing id once it has one (kept across sessions).</summary>
    private sealed class PendingPublish(byte[] message)
    {
        public byte[] Message { get; } = message;

        public ulong Id { get; set; }

        public long SentAt { get; set; }

        public TaskCompletionSource Confirmed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Its caller gave up: a later session does not send it again.</summary>
        public volatile bool Abandoned;
    }

    /// <summary>One connection, numbered, with what waits for a confirm on it and the subscriptions reading through it.</summary>
    private sealed class Session
    {
        private readonly Lock _gate = new();
        private readonly SortedDictionary<ulong, PendingPublish> _unconfirmed = [];
        private readonly Dictionary<byte, Channel<StreamChunk>> _subscriptions = [];
        private byte _nextSubscription;
        private bool _ended;

        public Session(StreamConnection connection, long number, string stream, ILogger logger)
        {
            Connection = connection;
            Number = number;
            connection.Confirmed = (_, ids) => Confirm(ids);
            connection.PublishFailed = (_, id, code) =>
            {
                Refuse(id, $"RabbitMQ refused the entry: {StreamResponseException.Describe(code)}");
                connection.End($"the broker refused a publish ({StreamResponseException.Describe(code)})");
            };
            connection.ChunkDelivered = (subscription, chunk) =>
            {
                lock (_gate)
                {
                    _subscriptions.GetValueOrDefault(subscription)?.Writer.TryWrite(chunk);
                }
            };
            connection.MetadataChanged = (code, changed) =>
            {
                if (changed == stream)
                {
                    logger.LogInformation("RabbitMQ says stream '{Stream}' changed ({Code}): its leader moved, or it was deleted. Connecting again.", stream, StreamResponseException.Describe(code));
                    connection.End($"the stream changed ({StreamResponseException.Describe(code)}): its leader moved, or it was deleted");
                }
            };
        }

        public StreamConnection Connection { get; }

        public long Number { get; }

        public int MaxEntryBytes => Connection.MaxMessageBytes - AmqpMessage.Overhead;

        public bool IsEnded
        {
            get
            {
                lock (_gate)
                {
                    return _ended || Connection.Closed.IsCompleted;
                }
            }
        }

        /// <summary>Sends <paramref name="publish"/>, with a new publishing id from <paramref name="nextId"/> unless it has one.</summary>
        public void Publish(PendingPublish publish, Func<ulong> nextId)
        {
            lock (_gate)
            {
                if (_ended)
                {
                    throw new LogUnavailableException($"the connection to RabbitMQ at {Connection.Endpoint} was lost", Number);
                }

                var resend = publish.Id != 0;
                if (!resend)
                {
                    publish.Id = nextId();
                }

                publish.SentAt = Stopwatch.GetTimestamp();
                _unconfirmed[publish.Id] = publish;
                try
                {
                    Connection.Publish(PublisherId, publish.Id, publish.Message);
                }
                catch (IOException ex)
                {
                    // A new entry goes back to its writer, which tries again; a resend stays, and
                    // the session's end hands it to the next one.
                    if (!resend)
                    {
                        _unconfirmed.Remove(publish.Id);
                    }

                    throw new LogUnavailableException(ex.Message, Number, ex);
                }
            }
        }

        /// <summary>How long the oldest publish has waited for its confirm, whether or not its caller still waits; null when none waits.</summary>
        public TimeSpan? OldestUnconfirmed()
        {
            lock (_gate)
            {
                return _unconfirmed.Count == 0 ? null : Stopwatch.GetElapsedTime(_unconfirmed.Values.Min(p => p.SentAt));
            }
        }

        /// <summary>Ends the session for good: what still waits for a confirm, less what nobody waits for, in publishing id order.</summary>
        public List<PendingPublish> End()
        {
            List<Channel<StreamChunk>> subscriptions;
            List<PendingPublish> waiting;
            lock (_gate)
            {
                _ended = true;
                waiting = [.. _unconfirmed.Values.Where(p => !p.Abandoned)];
                _unconfirmed.Clear();
                subscriptions = [.. _subscriptions.Values];
                _subscriptions.Clear();
            }

            foreach (var subscription in subscriptions)
            {
                subscription.Writer.TryComplete();
            }

            return waiting;
        }

        /// <summary>A reader of chunks from a new subscription id; <see cref="Unsubscribe"/> lets it go.</summary>
        public (byte Id, ChannelReader<StreamChunk> Chunks) AddSubscription()
        {
            var chunks = Channel.CreateUnbounded<StreamChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            lock (_gate)
            {
                if (_ended)
                {
                    chunks.Writer.TryComplete();
                    return (0, chunks.Reader);
                }

                while (_subscriptions.ContainsKey(_nextSubscription))
                {
                    _nextSubscription++;
                }

                var id = _nextSubscription++;
                _subscriptions[id] = chunks;
                return (id, chunks.Reader);
            }
        }

        public void Unsubscribe(byte id)
        {
            lock (_gate)
            {
                if (_subscriptions.Remove(id, out var chunks))
                {
                    chunks.Writer.TryComplete();
                }
            }
        }

        private void Confirm(ulong[] ids)
        {
            lock (_gate)
            {
                foreach (var id in ids)
                {
                    if (_unconfirmed.Remove(id, out var publish))
                    {
                        publish.Confirmed.TrySetResult();
                    }
                }
            }
        }

        private void Refuse(ulong id, string reason)
        {
            lock (_gate)
            {
                if (_unconfirmed.Remove(id, out var publish))
                {
                    publish.Confirmed.TrySetException(new LogUnavailableException(reason, Number));
                }
            }
        }
    }
}
