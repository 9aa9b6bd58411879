using RabbitMQ.Client;

namespace AspireKv.Cli.Bench;

/// <summary>
/// The ceiling for Puts: the same number of publishers, each publishing a message the size of a
/// Put's log entry and awaiting its confirm, into a fanout exchange feeding a stream, as the log
/// is built. It uses an exchange and stream of its own, removed afterwards, so the nodes never
/// see these messages.
/// </summary>
internal static class BrokerBaseline
{
    private const string Exchange = "aspirekv.bench.commands";
    private const string Stream = "aspirekv.bench.log";

    public static async Task<WorkloadResult> RunAsync(BenchOptions options, string connectionString, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = new Uri(connectionString), ClientProvidedName = "aspirekv bench baseline" };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var setup = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            await setup.ExchangeDeclareAsync(Exchange, ExchangeType.Fanout, durable: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            await setup.QueueDeclareAsync(Stream, durable: true, exclusive: false, autoDelete: false,
                new Dictionary<string, object?> { ["x-queue-type"] = "stream", ["x-max-length-bytes"] = 1_000_000_000L }, cancellationToken: cancellationToken).ConfigureAwait(false);
            await setup.QueueBindAsync(Stream, Exchange, string.Empty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // A Put's log entry is its key and value plus about 80 bytes of envelope.
            var body = new byte[options.ValueSize + 80];
            var channels = new List<IChannel>();
            for (var i = 0; i < options.Clients; i++)
            {
                channels.Add(await connection.CreateChannelAsync(new CreateChannelOptions(true, true), cancellationToken).ConfigureAwait(false));
            }

            await PublishAsync(channels, body, options.Warmup, 0, options.Rate, cancellationToken).ConfigureAwait(false);
            var result = await PublishAsync(channels, body, options.Duration, options.Operations, options.Rate, cancellationToken).ConfigureAwait(false);
            foreach (var channel in channels)
            {
                await channel.CloseAsync(cancellationToken).ConfigureAwait(false);
            }

            return result;
        }
        finally
        {
            await using var cleanup = await connection.CreateChannelAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            await cleanup.QueueDeleteAsync(Stream).ConfigureAwait(false);
            await cleanup.ExchangeDeleteAsync(Exchange).ConfigureAwait(false);
        }
    }

    private static Task<WorkloadResult> PublishAsync(List<IChannel> channels, byte[] body, TimeSpan duration, long operations, double rate, CancellationToken cancellationToken) =>
        ClosedLoop.RunAsync(OperationKind.BrokerBaseline, channels.Count, duration, operations, rate, i =>
        {
            var channel = channels[i];
            var properties = new BasicProperties();
            return () => channel.BasicPublishAsync(Exchange, string.Empty, mandatory: true, properties, body).AsTask();
        }, ex => ex is RabbitMQ.Client.Exceptions.PublishException or RabbitMQ.Client.Exceptions.AlreadyClosedException, cancellationToken);
}
