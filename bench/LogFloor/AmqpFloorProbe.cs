using System.Buffers.Binary;
using System.Diagnostics;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace AspireKv.Bench.LogFloor;

/// <summary>AMQP 0.9.1, as the log uses it: a fanout exchange feeding a stream queue, confirms tracked per publish, a consumer at <c>next</c> with prefetch and manual acks.</summary>
internal sealed class AmqpFloorProbe(FloorOptions options) : IFloorProbe
{
    private readonly string _stream = $"logfloor-{Environment.ProcessId}-{DateTime.UtcNow.Ticks}";
    private IConnection? _publishing;
    private IConnection? _consuming;
    private IChannel? _publisher;
    private IChannel? _consumer;

    public Action<long>? Confirmed { get; set; }

    public Action<ReadOnlySpan<byte>>? Delivered { get; set; }

    public async Task StartAsync()
    {
        var factory = Factory(options);
        _publishing = await factory.CreateConnectionAsync();
        _consuming = await factory.CreateConnectionAsync();
        _publisher = await _publishing.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await _publisher.ExchangeDeclareAsync(_stream, ExchangeType.Fanout, durable: true);
        var arguments = new Dictionary<string, object?> { ["x-queue-type"] = "stream" };
        if (options.Replicas > 1)
        {
            arguments["x-initial-cluster-size"] = options.Replicas;
        }

        await _publisher.QueueDeclareAsync(_stream, durable: true, exclusive: false, autoDelete: false, arguments);
        await _publisher.QueueBindAsync(_stream, _stream, string.Empty);

        _consumer = await ConsumeAsync(_consuming, _stream, body => Delivered?.Invoke(body));
    }

    /// <summary>Connections to the first AMQP broker of the options.</summary>
    public static ConnectionFactory Factory(FloorOptions options) =>
        new() { Uri = new Uri(options.Amqp.Split(',')[0]), ClientProvidedName = "logfloor" };

    /// <summary>A consumer of <paramref name="stream"/> at <c>next</c>, with prefetch and an ack every 50 deliveries.</summary>
    public static async Task<IChannel> ConsumeAsync(IConnection connection, string stream, Action<ReadOnlySpan<byte>> delivered)
    {
        var channel = await connection.CreateChannelAsync();
        await channel.BasicQosAsync(0, 2000, false);
        var consumer = new AsyncEventingBasicConsumer(channel);
        var received = 0;
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            delivered(delivery.Body.Span);
            if (++received % 50 == 0)
            {
                await channel.BasicAckAsync(delivery.DeliveryTag, multiple: true);
            }
        };
        await channel.BasicConsumeAsync(stream, autoAck: false, consumerTag: string.Empty, noLocal: false, exclusive: false,
            arguments: new Dictionary<string, object?> { ["x-stream-offset"] = "next" }, consumer);
        return channel;
    }

    public async Task RunAsync(int inFlight, byte[] body, CancellationToken stop)
    {
        var properties = new BasicProperties { DeliveryMode = DeliveryModes.Persistent };
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Task.Run(async () =>
        {
            var mine = (byte[])body.Clone();
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                BinaryPrimitives.WriteInt64LittleEndian(mine, started);
                await _publisher!.BasicPublishAsync(_stream, string.Empty, mandatory: false, properties, mine);
                Confirmed?.Invoke(started);
            }
        })));
    }

    public async ValueTask DisposeAsync()
    {
        if (_publisher is not null)
        {
            await _publisher.QueueDeleteAsync(_stream);
            await _publisher.ExchangeDeleteAsync(_stream);
        }

        foreach (var connection in new[] { _consuming, _publishing })
        {
            if (connection is not null)
            {
                await connection.CloseAsync();
                connection.Dispose();
            }
        }
    }
}
