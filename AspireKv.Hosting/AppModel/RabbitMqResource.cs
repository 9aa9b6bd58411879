namespace AspireKv.Hosting.AppModel;

/// <summary>Where the broker comes from, in the order the AppHost tries them.</summary>
public enum BrokerSource
{
    /// <summary><c>ConnectionStrings:&lt;name&gt;</c> names an existing broker; the AppHost only points at it.</summary>
    Existing,

    /// <summary>A private rabbitmq-server from the machine's packages.</summary>
    LocalServer,

    /// <summary>A RabbitMQ container, where a Docker engine answers.</summary>
    Container,
}

/// <summary>
/// The RabbitMQ broker, resource <c>messaging</c>, as data: what its declaration says (its cluster
/// size) and what the orchestrator's broker runner resolved it to. The runner takes
/// <c>ConnectionStrings:&lt;name&gt;</c> when that is set, otherwise a private rabbitmq-server,
/// otherwise a container where Docker answers; with none of them it installs rabbitmq-server with
/// apt (as root or through sudo without a password) unless <c>--no-broker-install</c> says not to.
/// With a cluster size above one (<see cref="RabbitMqResourceExtensions.WithClusterSize"/>, or
/// <c>--brokers N</c>) it is N private rabbitmq-server instances joined into one RabbitMQ cluster,
/// each shown as a child resource (<c>messaging-1</c>...), and its connection string lists them all.
/// </summary>
public sealed class RabbitMqResource : Resource
{
    private readonly TaskCompletionSource<string> _connectionString = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _resolved;

    public RabbitMqResource(string name)
        : base(name, "rabbitmq")
    {
        Annotations.Add(new EndpointAnnotation("amqp", "amqp"));
        Annotations.Add(new EndpointAnnotation("management", "http"));
    }

    /// <summary>Where the broker came from, once the runner has resolved it.</summary>
    public BrokerSource? Source { get; internal set; }

    /// <summary>How many brokers run as one cluster (its <see cref="ClusterSizeAnnotation"/>); 1 (the default) is a lone broker.</summary>
    public int ClusterSize => Annotations.OfType<ClusterSizeAnnotation>().LastOrDefault()?.Brokers ?? 1;

    /// <summary>The brokers of the cluster, as child resources; empty for a lone broker or an existing one.</summary>
    public IReadOnlyList<BrokerResource> Brokers { get; internal set; } = [];

    /// <summary>
    /// The broker's AMQP URI, once it has been resolved; for a cluster, every broker's URI,
    /// separated by commas (the form an AspireKv node reads as <c>ConnectionStrings__messaging</c>).
    /// </summary>
    public string ConnectionString => _resolved ?? throw new InvalidOperationException($"{Name} has not started yet.");

    /// <summary>Every broker's AMQP URI in <see cref="ConnectionString"/>: one, or a cluster's list.</summary>
    internal IReadOnlyList<Uri> BrokerUris => [.. ConnectionString.Split(',', StringSplitOptions.TrimEntries).Select(u => new Uri(u))];

    public Uri? ManagementUrl => Endpoint("management").Address;

    public override bool IsManaged => Source != BrokerSource.Existing;

    /// <summary>
    /// The connection string, once the broker has been resolved (which is before it is up): what a
    /// reference to it waits for. It fails with the reason when the broker cannot be had.
    /// </summary>
    public Task<string> GetConnectionStringAsync(CancellationToken cancellationToken = default) =>
        _connectionString.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// The runner resolved the broker: its connection string, and the endpoints shown for it. A
    /// cluster shows none of its own: each of its brokers shows its own.
    /// </summary>
    internal void Resolved(string connectionString, bool isCluster, Uri? management)
    {
        _resolved = connectionString;
        if (!isCluster)
        {
            var amqp = BrokerUris[0];
            Endpoint("amqp").Address = new Uri($"{amqp.Scheme}://{amqp.Host}:{amqp.Port}");
            Endpoint("management").Address = management;
        }

        _connectionString.TrySetResult(connectionString);
    }

    /// <summary>The broker cannot be had: a reference waiting for its connection string fails with why.</summary>
    internal void CannotResolve(Exception reason) =>
        _connectionString.TrySetException(new InvalidOperationException($"{Name} has no connection string: {reason.Message}", reason));

    /// <summary>The cluster's brokers as child resources, declared when the application is built.</summary>
    internal IReadOnlyList<BrokerResource> CreateBrokers()
    {
        Brokers = [.. Enumerable.Range(0, ClusterSize).Select(i => new BrokerResource(this, i))];
        return Brokers;
    }
}

/// <summary>How the broker resource is declared.</summary>
public static class RabbitMqResourceExtensions
{
    /// <summary>
    /// Runs the broker as <paramref name="brokers"/> private rabbitmq-server instances joined into
    /// one RabbitMQ cluster; the nodes' stream then has a replica on each, so that a write is
    /// confirmed once a majority of brokers holds it. 1 is a lone broker. This overrides
    /// <c>--brokers N</c>.
    /// </summary>
    public static ResourceBuilder<RabbitMqResource> WithClusterSize(this ResourceBuilder<RabbitMqResource> broker, int brokers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokers, 9);
        broker.Resource.Annotations.Add(new ClusterSizeAnnotation(brokers));
        return broker;
    }
}

internal static class ConfigurationExtensions
{
    public static string? GetConnectionStringValue(this Microsoft.Extensions.Configuration.IConfiguration configuration, string name) =>
        configuration[$"ConnectionStrings:{name}"];
}
