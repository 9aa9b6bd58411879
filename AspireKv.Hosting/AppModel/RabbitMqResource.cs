using AspireKv.Hosting.Broker;
using Microsoft.Extensions.Configuration;

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
/// The RabbitMQ broker, resource <c>messaging</c>. It comes from <c>ConnectionStrings:messaging</c>
/// when that is set, otherwise it is a private rabbitmq-server, otherwise a container where Docker
/// answers. With none of them it installs rabbitmq-server with apt (as root or through sudo without
/// a password) unless <c>--no-broker-install</c> says not to; where it cannot, it stops and says how to get one.
/// With a cluster size above one (<see cref="RabbitMqResourceExtensions.WithClusterSize"/>, or
/// <c>--brokers N</c>) it is N private rabbitmq-server instances joined into one RabbitMQ cluster,
/// each shown as a child resource (<c>messaging-1</c>...), and its connection string lists them all.
/// </summary>
public sealed class RabbitMqResource(string name) : Resource(name, "rabbitmq")
{
    private RabbitMqServer? _server;
    private RabbitMqContainer? _container;
    private BrokerCluster? _cluster;
    private string? _existing;
    private readonly TaskCompletionSource<string> _connectionString = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private List<BrokerResource> _brokers = [];

    public BrokerSource? Source { get; private set; }

    /// <summary>How many brokers run as one cluster; 1 (the default) is a lone broker.</summary>
    public int ClusterSize { get; internal set; } = 1;

    /// <summary>The brokers of the cluster, as child resources; empty for a lone broker or an existing one.</summary>
    public IReadOnlyList<BrokerResource> Brokers => _brokers;

    /// <summary>The private rabbitmq-server instances the AppHost runs for this resource: one, a cluster's, or none.</summary>
    internal IReadOnlyList<RabbitMqServer> Servers => _cluster?.Brokers ?? (_server is null ? [] : [_server]);

    /// <summary>
    /// The broker's AMQP URI, once it has been resolved; for a cluster, every broker's URI,
    /// separated by commas (the form an AspireKv node reads as <c>ConnectionStrings__messaging</c>).
    /// </summary>
    public string ConnectionString => _existing ?? _server?.ConnectionString ?? _container?.ConnectionString
        ?? (_cluster is { } cluster ? string.Join(',', cluster.Brokers.Select(b => b.ConnectionString)) : null)
        ?? throw new InvalidOperationException($"{Name} has not started yet.");

    /// <summary>Every broker's AMQP URI in <see cref="ConnectionString"/>: one, or a cluster's list.</summary>
    private IReadOnlyList<Uri> BrokerUris => [.. ConnectionString.Split(',', StringSplitOptions.TrimEntries).Select(u => new Uri(u))];

    public Uri? ManagementUrl => _server?.ManagementUrl ?? _container?.ManagementUrl;

    public override bool IsManaged => Source != BrokerSource.Existing;

    public override IReadOnlyDictionary<string, Uri> Endpoints
    {
        get
        {
            var endpoints = new Dictionary<string, Uri>();
            if (_existing is not null || _server is not null || _container is not null)
            {
                var amqp = BrokerUris[0];
                endpoints["amqp"] = new Uri($"{amqp.Scheme}://{amqp.Host}:{amqp.Port}");
            }

            if (ManagementUrl is { } management)
            {
                endpoints["management"] = management;
            }

            return endpoints;
        }
    }

    /// <summary>
    /// The connection string, once the broker has been resolved (which is before it is up): what a
    /// reference to it waits for. It fails with the reason when the broker cannot be had.
    /// </summary>
    public Task<string> GetConnectionStringAsync(CancellationToken cancellationToken = default) =>
        _connectionString.Task.WaitAsync(cancellationToken);

    public override async Task StartAsync(DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        MarkStarting();
        try
        {
            await ResolveAsync(context, cancellationToken).ConfigureAwait(false);
            _connectionString.TrySetResult(ConnectionString);
            switch (Source)
            {
                case BrokerSource.Existing:
                    Log($"Using the existing broker at {Endpoints["amqp"]} (from ConnectionStrings:{Name}).");
                    await WaitReachableAsync(context.Configuration.GetValue("Broker:ReachTimeoutSeconds", 30), cancellationToken).ConfigureAwait(false);
                    break;
                case BrokerSource.LocalServer when _cluster is not null:
                    await _cluster.StartAsync(TimeSpan.FromSeconds(180), cancellationToken).ConfigureAwait(false);
                    Log($"{Name} is a cluster of {ClusterSize} brokers: {string.Join(", ", _cluster.Brokers.Select(b => b.NodeName))}.");
                    MarkRunning();
                    _brokers.ForEach(b => b.MarkStartedByCluster());
                    return;
                case BrokerSource.LocalServer:
                    await _server!.StartAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
                    Pid = _server.Pid;
                    break;
                case BrokerSource.Container:
                    await _container!.StartAsync(cancellationToken).ConfigureAwait(false);
                    break;
            }

            MarkRunning();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MarkFailed(ex.Message);
            if (Source is null)
            {
                _connectionString.TrySetException(new InvalidOperationException($"{Name} has no connection string: {ex.Message}", ex));
            }

            throw;
        }
    }

    public override async Task StopAsync()
    {
        if (!IsManaged || State is ResourceState.NotStarted or ResourceState.Exited)
        {
            return;
        }

        State = ResourceState.Stopping;
        if (_server is not null)
        {
            await _server.StopAsync().ConfigureAwait(false);
        }

        if (_cluster is not null)
        {
            await _cluster.StopAsync().ConfigureAwait(false);
            _brokers.ForEach(b => b.MarkEndedByCluster("stopped with the cluster"));
        }

        if (_container is not null)
        {
            await _container.StopAsync().ConfigureAwait(false);
        }

        MarkExited("stopped");
    }

    public override async Task KillAsync()
    {
        EnsureManaged();
        if (_server is not null)
        {
            await _server.KillAsync().ConfigureAwait(false);
        }

        if (_container is not null)
        {
            await _container.KillAsync().ConfigureAwait(false);
        }

        if (_cluster is not null)
        {
            await Task.WhenAll(_cluster.Brokers.Select(b => b.KillAsync())).ConfigureAwait(false);
            await _cluster.StopAsync().ConfigureAwait(false); // and its port mapper
            _brokers.ForEach(b => b.MarkEndedByCluster("killed with the cluster"));
        }

        MarkExited("killed");
    }

    public override async Task<ResourceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (State != ResourceState.Running)
        {
            return ResourceHealth.Unknown;
        }

        if (_server is not null && !_server.IsRunning)
        {
            return ResourceHealth.Unhealthy;
        }

        // Healthy with every broker up; degraded while a majority of a cluster's still is (the stream takes writes).
        var brokers = BrokerUris;
        var up = 0;
        foreach (var broker in brokers)
        {
            up += await ProbeAsync(broker, cancellationToken).ConfigureAwait(false) == ResourceHealth.Healthy ? 1 : 0;
        }

        return up == brokers.Count ? ResourceHealth.Healthy : up > brokers.Count / 2 ? ResourceHealth.Degraded : ResourceHealth.Unhealthy;
    }

    /// <summary>
    /// The broker that leads <paramref name="stream"/> (the one that writes it and replicates it to
    /// the others), as the cluster reports it; null when no running broker can say.
    /// </summary>
    public async Task<BrokerResource?> GetStreamLeaderAsync(string stream = "aspirekv.log") =>
        _cluster is not null && await _cluster.GetStreamLeaderAsync(stream).ConfigureAwait(false) is { } leader
            ? _brokers.FirstOrDefault(b => b.Server == leader)
            : null;

    /// <summary>Healthy when the broker's AMQP port, where <paramref name="amqp"/> says, takes a TCP connection.</summary>
    internal static async Task<ResourceHealth> ProbeAsync(Uri amqp, CancellationToken cancellationToken)
    {
        try
        {
            await ConnectAsync(amqp, cancellationToken).ConfigureAwait(false);
            return ResourceHealth.Healthy;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return ResourceHealth.Unhealthy;
        }
    }

    /// <summary>The cluster's brokers as child resources, declared when the application is built.</summary>
    internal IReadOnlyList<BrokerResource> CreateBrokers()
    {
        _brokers = [.. Enumerable.Range(0, ClusterSize).Select(i => new BrokerResource(this, i))];
        return _brokers;
    }

    /// <summary>Stops the container or the server and gives its ports back; called when the application ends.</summary>
    internal async Task DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_container is not null)
        {
            await _container.RemoveAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An existing broker (for a list, any one of them) must accept connections within a bounded
    /// time; otherwise the AppHost fails with one message instead of starting nodes that retry for ever.
    /// </summary>
    private async Task WaitReachableAsync(int seconds, CancellationToken cancellationToken)
    {
        var brokers = BrokerUris;
        var deadline = DateTimeOffset.UtcNow.AddSeconds(seconds);
        var reason = string.Empty;
        do
        {
            foreach (var broker in brokers)
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    await ConnectAsync(broker, attempt.Token).ConfigureAwait(false);
                    return;
                }
                catch (System.Net.Sockets.SocketException ex)
                {
                    reason = ex.Message;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    reason = "no answer within 5 s";
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
        while (DateTimeOffset.UtcNow < deadline);

        var where = string.Join(", ", brokers.Select(amqp => $"{amqp.Scheme}://{amqp.Host}:{amqp.Port}"));
        throw new InvalidOperationException(
            $"The broker at {where} (ConnectionStrings__{Name}) cannot be reached: {reason}; tried for {seconds} s. " +
            $"Check that it runs and that the address is right, or unset ConnectionStrings__{Name} to let the AppHost run a private broker.");
    }

    /// <summary>Opens (and closes) a TCP connection to the broker's AMQP port; throws when it cannot.</summary>
    private static async Task ConnectAsync(Uri amqp, CancellationToken cancellationToken)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(amqp.Host, amqp.Port, cancellationToken).ConfigureAwait(false);
    }

    private void EnsureManaged()
    {
        if (!IsManaged)
        {
            throw new InvalidOperationException($"{Name} is an existing broker (ConnectionStrings:{Name}); the AppHost does not manage it.");
        }
    }

    private async Task ResolveAsync(DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        if (Source is not null)
        {
            return;
        }

        if (context.Configuration.GetConnectionStringValue(Name) is { Length: > 0 } existing)
        {
            _existing = existing;
            Source = BrokerSource.Existing;
            return;
        }

        if (!RabbitMqServer.IsInstalled && (ClusterSize > 1 || !RabbitMqContainer.EngineAnswers()))
        {
            await InstallAsync(context, cancellationToken).ConfigureAwait(false);
        }

        if (ClusterSize > 1)
        {
            if (!RabbitMqServer.IsInstalled)
            {
                throw new InvalidOperationException(
                    $"A cluster of {ClusterSize} brokers for '{Name}' runs private rabbitmq-server instances, and rabbitmq-server is not installed. " +
                    $"Install it ({BrokerInstaller.ExactCommand}), run one broker (no --brokers, or WithClusterSize(1)), " +
                    $"or point at an existing cluster: ConnectionStrings__{Name}=amqp://user:pass@host1:5672,amqp://user:pass@host2:5672,...");
            }

            // Each broker's output goes to its own resource's console log; the port mapper's to this one.
            _cluster = new BrokerCluster(Name, Path.Combine(context.StateDirectory, Name), ClusterSize, line =>
            {
                if (_brokers.FirstOrDefault(b => line.Resource.StartsWith(b.Name, StringComparison.Ordinal)) is { } broker)
                {
                    broker.ReceiveOutput(line);
                }
                else
                {
                    LogOutput(line);
                }
            });
            Source = BrokerSource.LocalServer;
        }
        else if (RabbitMqServer.IsInstalled)
        {
            _server = new RabbitMqServer(Name, Path.Combine(context.StateDirectory, Name), LogOutput);
            Source = BrokerSource.LocalServer;
        }
        else
        {
            _container = new RabbitMqContainer(Name, LogOutput);
            Source = BrokerSource.Container;
        }
    }

    /// <summary>Neither rabbitmq-server nor Docker: install the package, as Aspire would pull an image, or say how to get a broker.</summary>
    private async Task InstallAsync(DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        var allowed = context.Configuration.GetValue(BrokerInstaller.Setting, true);
        var facts = await BrokerInstaller.ObserveAsync(allowed, cancellationToken).ConfigureAwait(false);
        var plan = BrokerInstaller.Decide(facts);
        if (!plan.Install)
        {
            throw new InvalidOperationException(
                $"No RabbitMQ broker is available for '{Name}': rabbitmq-server is not installed, no Docker engine answers, and {plan.Reason}. Any one of these works:\n" +
                $"  - install RabbitMQ from your package manager: {BrokerInstaller.ExactCommand} (Debian, Ubuntu); the AppHost then runs a private instance of it;\n" +
                "  - start a Docker engine: the AppHost then runs RabbitMQ in a container;\n" +
                $"  - point at an existing broker: ConnectionStrings__{Name}=amqp://user:password@host:5672 dotnet run --project AspireKv.AppHost");
        }

        Log($"rabbitmq-server is not installed and no Docker engine answers: installing it with apt-get ({plan.Reason}), the way an AppHost pulls an image on first use. " +
            "Its system service stays stopped; the AppHost runs a private instance. Turn this off with --no-broker-install.");
        await BrokerInstaller.InstallAsync(Name, plan, Log, cancellationToken).ConfigureAwait(false);
        Log("rabbitmq-server is installed.");
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
        broker.Resource.ClusterSize = brokers;
        return broker;
    }
}

internal static class ConfigurationExtensions
{
    public static string? GetConnectionStringValue(this Microsoft.Extensions.Configuration.IConfiguration configuration, string name) =>
        configuration[$"ConnectionStrings:{name}"];
}
