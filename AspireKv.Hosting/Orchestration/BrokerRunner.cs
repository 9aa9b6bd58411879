using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Broker;

namespace AspireKv.Hosting.Orchestration;

/// <summary>
/// Runs the brokers of a cluster one by one, once the cluster's runner has started (and joined)
/// them all: a stopped or killed broker starts again on its own node name, ports and data, and
/// rejoins the cluster it left.
/// </summary>
internal sealed class BrokerRunner(RabbitMqRunner clusters) : ResourceRunner<BrokerResource>
{
    /// <summary>What a cluster's broker is, once the cluster has been created: its node name, address and endpoints.</summary>
    public static void Describe(BrokerResource broker, RabbitMqServer server)
    {
        broker.NodeName = server.NodeName;
        broker.ResolvedConnectionString = server.ConnectionString;
        broker.Endpoint("amqp").Address = new Uri($"amqp://127.0.0.1:{server.AmqpPort}");
        broker.Endpoint("management").Address = server.ManagementUrl;
    }

    /// <summary>The cluster's runner started this broker (or found it running).</summary>
    public static void MarkStartedByCluster(BrokerResource broker, RabbitMqServer server)
    {
        if (server.IsRunning && broker.State != ResourceState.Running)
        {
            broker.MarkStarting();
            broker.Pid = server.Pid;
            broker.MarkRunning();
        }
    }

    protected override async Task StartAsync(BrokerResource broker, DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        if (ServerOf(broker) is not { } server || broker.Cluster.State != ResourceState.Running)
        {
            // The first start belongs to the cluster: its brokers start together and join.
            await clusters.StartAsync(broker.Cluster, context, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (broker.State == ResourceState.Stopping)
        {
            throw new InvalidOperationException($"{broker.Name} is stopping; start it once it has stopped.");
        }

        if (server.IsRunning)
        {
            broker.Pid = server.Pid;
            broker.MarkRunning();
            return;
        }

        broker.MarkStarting();
        try
        {
            await server.StartAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
            broker.Pid = server.Pid;
            broker.MarkRunning();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            broker.MarkFailed(ex.Message);
            throw;
        }
    }

    protected override async Task StopAsync(BrokerResource broker)
    {
        if (ServerOf(broker) is not { IsRunning: true } server)
        {
            return;
        }

        broker.State = ResourceState.Stopping;
        await server.StopAsync().ConfigureAwait(false);
        broker.MarkExited("stopped");
    }

    protected override async Task KillAsync(BrokerResource broker)
    {
        if (ServerOf(broker) is not { IsRunning: true } server)
        {
            return;
        }

        await server.KillAsync().ConfigureAwait(false);
        broker.MarkExited("killed (SIGKILL)");
    }

    protected override Task<ResourceHealth> CheckHealthAsync(BrokerResource broker, CancellationToken cancellationToken)
    {
        if (broker.State != ResourceState.Running)
        {
            return Task.FromResult(ResourceHealth.Unknown);
        }

        return ServerOf(broker) is { IsRunning: true } server
            ? RabbitMqRunner.ProbeAsync(new Uri(server.ConnectionString), cancellationToken)
            : Task.FromResult(ResourceHealth.Unhealthy);
    }

    private RabbitMqServer? ServerOf(BrokerResource broker) => clusters.Servers(broker.Cluster).ElementAtOrDefault(broker.Index);
}
