using System.Buffers.Binary;
using System.Diagnostics;
using AspireKv.Streams;
using RabbitMQ.Client;

namespace AspireKv.Bench.LogFloor;

/// <summary>
/// The stream protocol: a publisher on the stream's leader (with a name, so the broker deduplicates),
/// a consumer on a replica where there is one; with <c>--protocol hybrid</c> the consumer reads the
/// stream over AMQP 0.9.1 instead (its AMQP port on the same broker).
/// </summary>
internal sealed class StreamFloorProbe(FloorOptions options) : IFloorProbe
{
    private readonly string _stream = $"logfloor-{Environment.ProcessId}-{DateTime.UtcNow.Ticks}";
    private readonly long[] _started = new long[65536];
    private StreamConnection? _publisher;
    private StreamConnection? _consumer;
    private IConnection? _amqp;
    private SemaphoreSlim? _window;

    public Action<long>? Confirmed { get; set; }

    public Action<ReadOnlySpan<byte>>? Delivered { get; set; }

    public async Task StartAsync()
    {
        var first = options.Stream.Split(',')[0];
        await using (var admin = await Connect(first))
        {
            var arguments = new Dictionary<string, string>();
            if (options.Replicas > 1)
            {
                arguments["initial-cluster-size"] = options.Replicas.ToString();
            }

            await admin.CreateStreamAsync(_stream, arguments, CancellationToken.None);
            var metadata = (await admin.QueryMetadataAsync([_stream], CancellationToken.None))[0];
            _publisher = await Connect(metadata.Leader ?? first);
            if (options.Protocol != "hybrid")
            {
                _consumer = await Connect(metadata.Replicas.FirstOrDefault(r => r != metadata.Leader) ?? metadata.Leader ?? first);
            }

            Console.Error.WriteLine($"stream {_stream}: leader {metadata.Leader}, replicas {string.Join(' ', metadata.Replicas)}; publishing to {_publisher.Endpoint}, consuming from {_consumer?.Endpoint ?? "AMQP"}");
        }

        if (_consumer is null)
        {
            _amqp = await AmqpFloorProbe.Factory(options).CreateConnectionAsync();
            await AmqpFloorProbe.ConsumeAsync(_amqp, _stream, body => Delivered?.Invoke(body));
        }
        else
        {
            var consumer = _consumer;
            consumer.ChunkDelivered = (subscription, chunk) =>
            {
                foreach (var record in chunk.Records)
                {
                    if (AmqpMessage.TryUnwrap(record, out var payload))
                    {
                        Delivered?.Invoke(payload.Span);
                    }
                }

                consumer.Credit(subscription, 1);
            };
            await consumer.SubscribeAsync(1, _stream, StreamOffset.Next, 10, CancellationToken.None);
        }

        await _publisher.DeclarePublisherAsync(1, "logfloor", _stream, CancellationToken.None);
    }

    public async Task RunAsync(int inFlight, byte[] body, CancellationToken stop)
    {
        var publisher = _publisher!;
        var window = _window = new SemaphoreSlim(inFlight);
        publisher.Confirmed = (_, ids) =>
        {
            foreach (var id in ids)
            {
                Confirmed?.Invoke(_started[id % (ulong)_started.Length]);
                window.Release();
            }
        };
        ulong next = 0;
        try
        {
            while (true)
            {
                await window.WaitAsync(stop);
                var id = ++next;
                var now = Stopwatch.GetTimestamp();
                _started[id % (ulong)_started.Length] = now;
                BinaryPrimitives.WriteInt64LittleEndian(body, now);
                publisher.Publish(1, id, AmqpMessage.Wrap(body)); // as the node's log does, so AMQP consumers read it too
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private Task<StreamConnection> Connect(string endpoint) =>
        StreamConnection.ConnectAsync(StreamConnectionOptions.Parse(endpoint, options.User, options.Password) with { ClientName = "logfloor" }, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        if (_amqp is not null)
        {
            await _amqp.CloseAsync();
            _amqp.Dispose();
        }

        if (_consumer is not null)
        {
            await _consumer.DisposeAsync();
        }

        if (_publisher is not null)
        {
            try
            {
                await _publisher.DeleteStreamAsync(_stream, CancellationToken.None);
            }
            finally
            {
                await _publisher.DisposeAsync();
            }
        }

        _window?.Dispose();
    }
}
