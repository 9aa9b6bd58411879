using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace AspireKv.Node.Replication.RabbitMq;

/// <summary>Reading the stream: a consumer at an offset on its own channel, handing deliveries over in batches.</summary>
public sealed partial class RabbitMqReplicationLog
{
    /// <summary>Waits for a connection, then starts a consumer at <paramref name="offset"/>; retries until it has one.</summary>
    private async Task<Subscription> SubscribeAsync(long offset, CancellationToken cancellationToken)
    {
        while (true)
        {
            var session = await _sessions.WaitAsync(s => s.Connection.IsOpen, cancellationToken).ConfigureAwait(false);
            try
            {
                return await Subscription.StartAsync(session.Connection, _options, offset, _logger, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _logger.LogWarning("Could not subscribe to stream '{Stream}' at offset {Offset}: {Error}", _options.Stream, offset, Cause(ex));
                await Task.Delay(_options.ReconnectDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One stream consumer on its own channel, handing deliveries over in batches.</summary>
    private sealed class Subscription : IAsyncDisposable
    {
        private readonly IChannel _channel;
        private readonly Channel<Delivery> _deliveries = System.Threading.Channels.Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true });
        private readonly List<Delivery> _batch = [];

        private Subscription(IConnection connection, IChannel channel)
        {
            Connection = connection;
            _channel = channel;
        }

        public IConnection Connection { get; }

        public static async Task<Subscription> StartAsync(IConnection connection, ReplicationOptions options, object offset, ILogger logger, CancellationToken cancellationToken)
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var subscription = new Subscription(connection, channel);
            try
            {
                channel.ChannelShutdownAsync += (_, _) =>
                {
                    subscription._deliveries.Writer.TryComplete();
                    return Task.CompletedTask;
                };

                // A stream consumer needs a prefetch above zero and manual acks.
                await channel.BasicQosAsync(0, options.Prefetch, false, cancellationToken).ConfigureAwait(false);
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += (_, delivery) =>
                {
                    if (ReadOffset(delivery.BasicProperties.Headers) is { } at)
                    {
                        // The body belongs to the client only during this callback: copy it.
                        subscription._deliveries.Writer.TryWrite(new Delivery(delivery.DeliveryTag, at, delivery.Body.ToArray()));
                    }
                    else
                    {
                        logger.LogError("A delivery from the stream has no x-stream-offset header; it is ignored.");
                    }

                    return Task.CompletedTask;
                };
                consumer.UnregisteredAsync += (_, _) =>
                {
                    subscription._deliveries.Writer.TryComplete();
                    return Task.CompletedTask;
                };
                await channel.BasicConsumeAsync(
                    options.Stream, autoAck: false, consumerTag: string.Empty, noLocal: false, exclusive: false,
                    arguments: new Dictionary<string, object?> { ["x-stream-offset"] = offset }, consumer, cancellationToken).ConfigureAwait(false);
                return subscription;
            }
            catch
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>True once a delivery waits (or the consumer has stopped); false when <paramref name="timeout"/> passed first.</summary>
        public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(timeout);
            try
            {
                await _deliveries.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        /// <summary>The deliveries that have arrived, waiting for at least one; null when the consumer has stopped.</summary>
        public async Task<List<Delivery>?> NextBatchAsync(CancellationToken cancellationToken)
        {
            _batch.Clear();
            var reader = _deliveries.Reader;
            if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            while (_batch.Count < 1000 && reader.TryRead(out var delivery))
            {
                _batch.Add(delivery);
            }

            return _batch;
        }

        /// <summary>Acknowledges everything up to <paramref name="tag"/> at once, which grants the consumer more credit.</summary>
        public async Task AckAsync(ulong tag)
        {
            try
            {
                await _channel.BasicAckAsync(tag, multiple: true).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
            {
                // The channel is gone; the next batch read notices and the consumer starts over.
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (_channel.IsOpen)
                {
                    await _channel.CloseAsync().ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
                // Already gone.
            }

            _channel.Dispose();
        }

        private static long? ReadOffset(IDictionary<string, object?>? headers) =>
            headers is not null && headers.TryGetValue("x-stream-offset", out var value)
                ? value switch
                {
                    long l => l,
                    int i => i,
                    _ => null,
                }
                : null;
    }

    private readonly record struct Delivery(ulong Tag, long Offset, byte[] Body);
}
