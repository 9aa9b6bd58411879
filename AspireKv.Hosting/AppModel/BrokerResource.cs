using AspireKv.Hosting.Broker;
using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.AppModel;

/// <summary>
/// One broker of a RabbitMQ cluster, shown as a child of the cluster's resource (<c>messaging-2</c>
/// under <c>messaging</c>), as Aspire shows a resource's replicas. It can be stopped, killed and
/// started on its own, which is how a test or a user takes one broker of the cluster away. The
/// cluster's resource starts (and first joins) them all.
/// </summary>
public sealed class BrokerResource : Resource
{
    private readonly int _index;

    internal BrokerResource(RabbitMqResource cluster, int index)
        : base($"{cluster.Name}-{index + 1}", "rabbitmq-broker")
    {
        Cluster = cluster;
        _index = index;
        AddWaitFor(cluster);
    }

    /// <summary>The cluster this broker belongs to.</summary>
    public RabbitMqResource Cluster { get; }

    /// <summary>The broker's server, once the cluster has been created.</summary>
    public RabbitMqServer? Server => Cluster.Servers.ElementAtOrDefault(_index);

    /// <summary>The broker's Erlang node name (<c>rabbit@...</c>), as the cluster knows it.</summary>
    public string? NodeName => Server?.NodeName;

    public override IReadOnlyDictionary<string, Uri> Endpoints =>
        Server is { } server
            ? new Dictionary<string, Uri> { ["amqp"] = new($"amqp://127.0.0.1:{server.AmqpPort}"), ["management"] = server.ManagementUrl }
            : new Dictionary<string, Uri>();

    /// <summary>The broker's own AMQP URI.</summary>
    public string ConnectionString => Server?.ConnectionString ?? throw new InvalidOperationException($"{Name} has not started yet.");

    public override async Task StartAsync(DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        if (Server is not { } server || Cluster.State != ResourceState.Running)
        {
            // The first start belongs to the cluster: its brokers start together and join.
            await Cluster.StartAsync(context, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (State == ResourceState.Stopping)
        {
            throw new InvalidOperationException($"{Name} is stopping; start it once it has stopped.");
        }

        if (server.IsRunning)
        {
            Pid = server.Pid;
            MarkRunning();
            return;
        }

        MarkStarting();
        try
        {
            await server.StartAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
            Pid = server.Pid;
            MarkRunning();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MarkFailed(ex.Message);
            throw;
        }
    }

    public override async Task StopAsync()
    {
        if (Server is not { IsRunning: true } server)
        {
            return;
        }

        State = ResourceState.Stopping;
        await server.StopAsync().ConfigureAwait(false);
        MarkExited("stopped");
    }

    public override async Task KillAsync()
    {
        if (Server is not { IsRunning: true } server)
        {
            return;
        }

        await server.KillAsync().ConfigureAwait(false);
        MarkExited("killed (SIGKILL)");
    }

    public override Task<ResourceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (State != ResourceState.Running)
        {
            return Task.FromResult(ResourceHealth.Unknown);
        }

        if (Server is not { IsRunning: true } server)
        {
            return Task.FromResult(ResourceHealth.Unhealthy);
        }

        return RabbitMqResource.ProbeAsync(new Uri(server.ConnectionString), cancellationToken);
    }

    /// <summary>A line of this broker's own output (or of rabbitmqctl run against it).</summary>
    internal void ReceiveOutput(LogLine line) => LogOutput(line);

    /// <summary>The cluster started this broker (or found it running).</summary>
    internal void MarkStartedByCluster()
    {
        if (Server is { IsRunning: true } server && State != ResourceState.Running)
        {
            MarkStarting();
            Pid = server.Pid;
            MarkRunning();
        }
    }

    /// <summary>The cluster stopped or killed every broker.</summary>
    internal void MarkEndedByCluster(string detail)
    {
        if (State is ResourceState.Running or ResourceState.Starting)
        {
            MarkExited(detail);
        }
    }
}
