using System.Diagnostics;
using RabbitMQ.Client;

namespace AspireKv.Node.Replication.RabbitMq;

/// <summary>Confirm tracking: a session's publishing channel and the entries that wait for a confirm on it.</summary>
public sealed partial class RabbitMqReplicationLog
{
    /// <summary>One connection and its publishing channel, numbered, with what waits for a confirm on it.</summary>
    private sealed class Session(IConnection connection, IChannel publisher, long number, TaskCompletionSource<string> ended)
    {
        private readonly Dictionary<long, long> _unconfirmed = [];
        private long _next;

        public IConnection Connection { get; } = connection;

        public IChannel Publisher { get; } = publisher;

        public long Number { get; } = number;

        /// <summary>Why the broker blocks this connection's publishes (a resource alarm); null while it does not.</summary>
        public volatile string? BlockedReason;

        public long Track()
        {
            lock (_unconfirmed)
            {
                _unconfirmed[++_next] = Stopwatch.GetTimestamp();
                return _next;
            }
        }

        public void Untrack(long publish)
        {
            lock (_unconfirmed)
            {
                _unconfirmed.Remove(publish);
            }
        }

        /// <summary>How long the oldest publish has waited for its confirm; null when none waits.</summary>
        public TimeSpan? OldestUnconfirmed()
        {
            lock (_unconfirmed)
            {
                return _unconfirmed.Count == 0 ? null : Stopwatch.GetElapsedTime(_unconfirmed.Values.Min());
            }
        }

        /// <summary>Ends the session from this side; the supervisor then connects again.</summary>
        public void End(string reason) => ended.TrySetResult(reason);
    }
}
