namespace AspireKv.Node.Replication.RabbitMq;

/// <summary>The RabbitMQ topology and consumer settings of the log, from the <c>Replication</c> section.</summary>
public sealed class RabbitMqLogOptions
{
    /// <summary>The fanout exchange every node publishes to.</summary>
    public string Exchange { get; set; } = "aspirekv.commands";

    /// <summary>The durable stream queue bound to <see cref="Exchange"/>: the log.</summary>
    public string Stream { get; set; } = "aspirekv.log";

    /// <summary>Stream retention by size (<c>x-max-length-bytes</c>); null keeps everything.</summary>
    public long? StreamMaxLengthBytes { get; set; }

    /// <summary>Stream segment size (<c>x-stream-max-segment-size-bytes</c>); retention drops whole segments.</summary>
    public long? StreamMaxSegmentSizeBytes { get; set; }

    /// <summary>How many deliveries may be unacknowledged (basic.qos); a stream consumer needs more than 0.</summary>
    public ushort Prefetch { get; set; } = 2000;

    /// <summary>The first retry after a lost connection; it doubles up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);
}
