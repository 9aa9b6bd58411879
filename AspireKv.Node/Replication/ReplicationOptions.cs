using AspireKv.Client;

namespace AspireKv.Node.Replication;

/// <summary>How the node replicates, from the <c>Replication</c> configuration section. Every node must use the same topology and retention settings.</summary>
public sealed class ReplicationOptions
{
    public const string SectionName = "Replication";

    /// <summary>
    /// <c>Amqp</c> (the default: AMQP 0.9.1 through the exchange), <c>Stream</c> (RabbitMQ's stream
    /// protocol, on the brokers' stream ports: its confirms are faster, but on RabbitMQ 3.10 a
    /// published entry reaches the nodes later, and a write waits for that; docs/benchmarks.md has
    /// the measurements), or <c>InMemory</c> (one node on its own, nothing kept). Both RabbitMQ
    /// logs read the same stream, so nodes may move from one to the other.
    /// </summary>
    public string Log { get; set; } = "Amqp";

    /// <summary>
    /// The brokers' stream ports for the <c>Stream</c> log, <c>host:port</c> separated by commas.
    /// Unset, it is every broker of <c>ConnectionStrings:messaging</c> at port 5552, the stream
    /// protocol's own. The user, password and virtual host are those of the connection string.
    /// </summary>
    public string? StreamEndpoints { get; set; }

    /// <summary>
    /// The connection string the broker is read from, <c>ConnectionStrings:{ConnectionName}</c>: the
    /// broker resource's name in the AppHost, which gives both. <c>messaging</c> by default.
    /// </summary>
    public string ConnectionName { get; set; } = "messaging";

    /// <summary>The fanout exchange every node publishes to.</summary>
    public string Exchange { get; set; } = LogNames.Exchange;

    /// <summary>The durable stream queue bound to <see cref="Exchange"/>: the log.</summary>
    public string Stream { get; set; } = LogNames.Stream;

    /// <summary>
    /// How many brokers hold a replica of the stream (<c>x-initial-cluster-size</c>), when the node
    /// declares it. Unset, it is the number of brokers in <c>ConnectionStrings:messaging</c>, so
    /// that on a cluster every broker has a replica and a confirm means a majority has the entry.
    /// </summary>
    public int? StreamReplicas { get; set; }

    /// <summary>The default <see cref="StreamMaxLengthBytes"/>: 1 GiB.</summary>
    public const long DefaultStreamMaxLengthBytes = 1L << 30;

    /// <summary>The default <see cref="StreamMaxSegmentSizeBytes"/>: 64 MiB, so that retention drops the log in steps of that size.</summary>
    public const long DefaultStreamMaxSegmentSizeBytes = 64L << 20;

    /// <summary>
    /// Stream retention by size (<c>x-max-length-bytes</c>), fixed when the stream is created: the
    /// broker drops the oldest segments beyond it. A node that needs dropped entries catches up
    /// from a peer's snapshot instead. 0 keeps everything.
    /// </summary>
    public long StreamMaxLengthBytes { get; set; } = DefaultStreamMaxLengthBytes;

    /// <summary>Stream segment size (<c>x-stream-max-segment-size-bytes</c>); retention drops whole segments. 0 leaves it to the broker (500 MB).</summary>
    public long StreamMaxSegmentSizeBytes { get; set; } = DefaultStreamMaxSegmentSizeBytes;

    /// <summary>How many deliveries may be unacknowledged (basic.qos); a stream consumer needs more than 0.</summary>
    public ushort Prefetch { get; set; } = 2000;

    /// <summary>The first retry after a lost connection; it doubles up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between two connection attempts, so that a node serves again soon after the broker is back.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The AMQP heartbeat interval asked of the broker. A connection that carries nothing for
    /// about two intervals counts as lost, which is how a silent partition is noticed.
    /// </summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one connection attempt, TCP and AMQP handshake together, may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>An entry waiting this long for its confirm makes the node degraded: the broker is not keeping up, or cannot be reached.</summary>
    public TimeSpan ConfirmStallTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The most commands one log entry carries.</summary>
    public int MaxBatchCommands { get; set; } = 512;

    /// <summary>A log entry stops taking commands once it holds this many bytes.</summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How many entries may await their confirm at once. While they wait, new proposals gather
    /// into the next entry; on a machine where the broker and the nodes share the CPU, fewer,
    /// larger entries win (docs/benchmarks.md has the measurements).
    /// </summary>
    public int MaxAppendsInFlight { get; set; } = 1;

    /// <summary>
    /// How many barrier-only entries (for linearizable reads) may await their confirm at once,
    /// besides the write entries. Barriers have no order to keep among themselves.
    /// </summary>
    public int MaxBarriersInFlight { get; set; } = 2;

    /// <summary>How many writes may wait to be published; more are refused with UNAVAILABLE until the log catches up.</summary>
    public int MaxQueuedProposals { get; set; } = 10_000;
}
