using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace AspireKv.Node.Replication.RabbitMq;

/// <summary>The exchange and the stream: declared on every new session, with the stream's arguments fixed at creation, and where the stream ends.</summary>
public sealed partial class RabbitMqReplicationLog
{
    private async Task DeclareTopologyAsync(IConnection connection, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(_options.ConnectTimeout);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: attempt.Token).ConfigureAwait(false);
        await channel.ExchangeDeclareAsync(_options.Exchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: attempt.Token).ConfigureAwait(false);
        var arguments = new Dictionary<string, object?> { ["x-queue-type"] = "stream" };
        if ((_options.StreamReplicas ?? BrokerCount) is > 1 and var replicas)
        {
            // A replica on each broker: a confirm then means a majority of them has written the entry.
            arguments["x-initial-cluster-size"] = replicas;
        }

        if (_options.StreamMaxLengthBytes > 0)
        {
            arguments["x-max-length-bytes"] = _options.StreamMaxLengthBytes;
        }

        if (_options.StreamMaxSegmentSizeBytes > 0)
        {
            arguments["x-stream-max-segment-size-bytes"] = _options.StreamMaxSegmentSizeBytes;
        }

        try
        {
            await channel.QueueDeclareAsync(_options.Stream, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: attempt.Token).ConfigureAwait(false);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406 && FixedAtCreation(ex.ShutdownReason.ReplyText) is { } argument)
        {
            // Retention and replica count are fixed when a stream is created (a policy changes
            // them later): a stream made with other values, by an older version or other
            // settings, is still the log. Use it as it is; the failed declare closed the channel.
            _logger.LogWarning(
                "Stream '{Stream}' exists with another {Argument} than this node's settings give; the node uses it as it is. " +
                "Retention and replica count are fixed when a stream is created: change them with a RabbitMQ policy. ({Reply})",
                _options.Stream, argument, ex.ShutdownReason.ReplyText);
            await using var passive = await connection.CreateChannelAsync(cancellationToken: attempt.Token).ConfigureAwait(false);
            await passive.QueueDeclarePassiveAsync(_options.Stream, attempt.Token).ConfigureAwait(false);
            await passive.QueueBindAsync(_options.Stream, _options.Exchange, string.Empty, cancellationToken: attempt.Token).ConfigureAwait(false);
            return;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406)
        {
            throw new InvalidOperationException(
                $"queue '{_options.Stream}' exists with other arguments than this node declares ({ex.ShutdownReason.ReplyText}); " +
                "every node must use the same Replication settings, and the queue must be a stream", ex);
        }

        await channel.QueueBindAsync(_options.Stream, _options.Exchange, string.Empty, cancellationToken: attempt.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the log reaches <paramref name="offset"/>: read from a short-lived consumer at
    /// <c>last</c> (the start of the last chunk). Returns the highest offset seen, -1 for an empty log.
    /// </summary>
    private async Task<long> LastOffsetAsync(IConnection connection, long offset, CancellationToken cancellationToken)
    {
        await using var probe = await Subscription.StartAsync(connection, _options, "last", _logger, cancellationToken).ConfigureAwait(false);
        var last = -1L;
        var wait = TimeSpan.FromSeconds(3);
        while (last < offset && await probe.WaitAsync(wait, cancellationToken).ConfigureAwait(false) && await probe.NextBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
        {
            last = Math.Max(last, batch.Max(d => d.Offset));
            wait = TimeSpan.FromMilliseconds(300); // the rest of the last chunk comes at once
        }

        return last;
    }

    /// <summary>The stream argument a declare was refused over, when it is one fixed at creation (retention, replica count); null otherwise.</summary>
    internal static string? FixedAtCreation(string replyText)
    {
        string[] fixedAtCreation = ["x-max-length-bytes", "x-stream-max-segment-size-bytes", "x-initial-cluster-size", "x-max-age"];
        return fixedAtCreation.FirstOrDefault(a => replyText.Contains($"inequivalent arg '{a}'", StringComparison.Ordinal));
    }
}
