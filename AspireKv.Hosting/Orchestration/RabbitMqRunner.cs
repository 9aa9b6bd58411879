using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Broker;
using Microsoft.Extensions.Configuration;

namespace AspireKv.Hosting.Orchestration;

/// <summary>
/// Runs broker resources. It resolves each to an existing broker (its connection string is set), a
/// private rabbitmq-server, a cluster of them, or a container, installing rabbitmq-server where
/// none of these can be had and the user allows it; then starts, stops and probes it.
/// </summary>
internal sealed class RabbitMqRunner : ResourceRunner<RabbitMqResource>
{
    private readonly Dictionary<RabbitMqResource, Running> _running = [];

    /// <summary>The private rabbitmq-server instances run for <paramref name="broker"/>: one, a cluster's, or none.</summary>
    public IReadOnlyList<RabbitMqServer> Servers(RabbitMqResource broker) => RunningOf(broker)?.Servers ?? [];

    /// <summary>
    /// The broker that leads <paramref name="stream"/> (the one that writes it and replicates it to
    /// the others), as the cluster reports it; null when no running broker can say.
    /// </summary>
    public async Task<BrokerResource?> GetStreamLeaderAsync(RabbitMqResource broker, string stream) =>
        RunningOf(broker)?.Cluster is { } cluster && await cluster.GetStreamLeaderAsync(stream).ConfigureAwait(false) is { } leader
            ? broker.Brokers.FirstOrDefault(b => cluster.Brokers.ElementAtOrDefault(b.Index) == leader)
            : null;

    protected override async Task StartAsync(RabbitMqResource broker, DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        broker.MarkStarting();
        try
        {
            var running = await ResolveAsync(broker, context, cancellationToken).ConfigureAwait(false);
            switch (broker.Source)
            {
                case BrokerSource.Existing:
                    broker.Log($"Using the existing broker at {broker.Endpoints["amqp"]} (from ConnectionStrings:{broker.Name}).");
                    await WaitReachableAsync(broker, context.Configuration.GetValue("Broker:ReachTimeoutSeconds", 30), cancellationToken).ConfigureAwait(false);
                    break;
                case BrokerSource.LocalServer when running.Cluster is { } cluster:
                    await cluster.StartAsync(TimeSpan.FromSeconds(180), cancellationToken).ConfigureAwait(false);
                    broker.Log($"{broker.Name} is a cluster of {broker.ClusterSize} brokers: {string.Join(", ", cluster.Brokers.Select(b => b.NodeName))}.");
                    broker.MarkRunning();
                    foreach (var member in broker.Brokers)
                    {
                        BrokerRunner.MarkStartedByCluster(member, cluster.Brokers[member.Index]);
                    }

                    return;
                case BrokerSource.LocalServer:
                    await running.Server!.StartAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
                    broker.Pid = running.Server.Pid;
                    break;
                case BrokerSource.Container:
                    await running.Container!.StartAsync(cancellationToken).ConfigureAwait(false);
                    break;
            }

            broker.MarkRunning();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            broker.MarkFailed(ex.Message);
            if (broker.Source is null)
            {
                broker.CannotResolve(ex);
            }

            throw;
        }
    }

    protected override async Task StopAsync(RabbitMqResource broker)
    {
        if (!broker.IsManaged || broker.State is ResourceState.NotStarted or ResourceState.Exited || RunningOf(broker) is not { } running)
        {
            return;
        }

        broker.State = ResourceState.Stopping;
        if (running.Server is not null)
        {
            await running.Server.StopAsync().ConfigureAwait(false);
        }

        if (running.Cluster is not null)
        {
            await running.Cluster.StopAsync().ConfigureAwait(false);
            MarkBrokersEnded(broker, "stopped with the cluster");
        }

        if (running.Container is not null)
        {
            await running.Container.StopAsync().ConfigureAwait(false);
        }

        broker.MarkExited("stopped");
    }

    protected override async Task KillAsync(RabbitMqResource broker)
    {
        if (!broker.IsManaged)
        {
            throw new InvalidOperationException($"{broker.Name} is an existing broker (ConnectionStrings:{broker.Name}); the AppHost does not manage it.");
        }

        if (RunningOf(broker) is not { } running)
        {
            return;
        }

        if (running.Server is not null)
        {
            await running.Server.KillAsync().ConfigureAwait(false);
        }

        if (running.Container is not null)
        {
            await running.Container.KillAsync().ConfigureAwait(false);
        }

        if (running.Cluster is { } cluster)
        {
            await Task.WhenAll(cluster.Brokers.Select(b => b.KillAsync())).ConfigureAwait(false);
            await cluster.StopAsync().ConfigureAwait(false); // and its port mapper
            MarkBrokersEnded(broker, "killed with the cluster");
        }

        broker.MarkExited("killed");
    }

    protected override async Task<ResourceHealth> CheckHealthAsync(RabbitMqResource broker, CancellationToken cancellationToken)
    {
        if (broker.State != ResourceState.Running)
        {
            return ResourceHealth.Unknown;
        }

        if (RunningOf(broker)?.Server is { IsRunning: false })
        {
            return ResourceHealth.Unhealthy;
        }

        // Healthy with every broker up; degraded while a majority of a cluster's still is (the stream takes writes).
        var brokers = broker.BrokerUris;
        var up = 0;
        foreach (var uri in brokers)
        {
            up += await ProbeAsync(uri, cancellationToken).ConfigureAwait(false) == ResourceHealth.Healthy ? 1 : 0;
        }

        return up == brokers.Count ? ResourceHealth.Healthy : up > brokers.Count / 2 ? ResourceHealth.Degraded : ResourceHealth.Unhealthy;
    }

    /// <summary>Stops the broker and removes its container; called when the application ends.</summary>
    protected override async Task ReleaseAsync(RabbitMqResource broker)
    {
        await StopAsync(broker).ConfigureAwait(false);
        if (RunningOf(broker)?.Container is { } container)
        {
            await container.RemoveAsync().ConfigureAwait(false);
        }
    }

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

    private static void MarkBrokersEnded(RabbitMqResource broker, string detail)
    {
        foreach (var member in broker.Brokers.Where(b => b.State is ResourceState.Running or ResourceState.Starting))
        {
            member.MarkExited(detail);
        }
    }

    private Running? RunningOf(RabbitMqResource broker)
    {
        lock (_running)
        {
            return _running.GetValueOrDefault(broker);
        }
    }

    /// <summary>
    /// An existing broker (for a list, any one of them) must accept connections within a bounded
    /// time; otherwise the AppHost fails with one message instead of starting nodes that retry for ever.
    /// </summary>
    private static async Task WaitReachableAsync(RabbitMqResource broker, int seconds, CancellationToken cancellationToken)
    {
        var brokers = broker.BrokerUris;
        var deadline = DateTimeOffset.UtcNow.AddSeconds(seconds);
        var reason = string.Empty;
        do
        {
            foreach (var uri in brokers)
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    await ConnectAsync(uri, attempt.Token).ConfigureAwait(false);
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
            $"The broker at {where} (ConnectionStrings__{broker.Name}) cannot be reached: {reason}; tried for {seconds} s. " +
            $"Check that it runs and that the address is right, or unset ConnectionStrings__{broker.Name} to let the AppHost run a private broker.");
    }

    /// <summary>Opens (and closes) a TCP connection to the broker's AMQP port; throws when it cannot.</summary>
    private static async Task ConnectAsync(Uri amqp, CancellationToken cancellationToken)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(amqp.Host, amqp.Port, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What runs the broker, decided on its first start and kept for the application's life.</summary>
    private async Task<Running> ResolveAsync(RabbitMqResource broker, DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        if (RunningOf(broker) is { } known)
        {
            return known;
        }

        var running = await DecideAsync(broker, context, cancellationToken).ConfigureAwait(false);
        lock (_running)
        {
            _running[broker] = running;
        }

        if (running.Cluster is { } cluster)
        {
            foreach (var member in broker.Brokers)
            {
                BrokerRunner.Describe(member, cluster.Brokers[member.Index]);
            }
        }

        broker.Resolved(running.ConnectionString, running.Cluster is not null, running.Server?.ManagementUrl ?? running.Container?.ManagementUrl);
        return running;
    }

    private static async Task<Running> DecideAsync(RabbitMqResource broker, DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        if (context.Configuration.GetConnectionStringValue(broker.Name) is { Length: > 0 } existing)
        {
            broker.Source = BrokerSource.Existing;
            return new Running { Existing = existing };
        }

        if (!RabbitMqServer.IsInstalled && (broker.ClusterSize > 1 || !RabbitMqContainer.EngineAnswers()))
        {
            await InstallAsync(broker, context, cancellationToken).ConfigureAwait(false);
        }

        if (broker.ClusterSize > 1)
        {
            if (!RabbitMqServer.IsInstalled)
            {
                throw new InvalidOperationException(
                    $"A cluster of {broker.ClusterSize} brokers for '{broker.Name}' runs private rabbitmq-server instances, and rabbitmq-server is not installed. " +
                    $"Install it ({BrokerInstaller.ExactCommand}), run one broker (no --brokers, or WithClusterSize(1)), " +
                    $"or point at an existing cluster: ConnectionStrings__{broker.Name}=amqp://user:pass@host1:5672,amqp://user:pass@host2:5672,...");
            }

            // Each broker's output goes to its own resource's console log; the port mapper's to the cluster's.
            var cluster = new BrokerCluster(broker.Name, Path.Combine(context.StateDirectory, broker.Name), broker.ClusterSize, line =>
            {
                if (broker.Brokers.FirstOrDefault(b => line.Resource.StartsWith(b.Name, StringComparison.Ordinal)) is { } member)
                {
                    member.LogOutput(line);
                }
                else
                {
                    broker.LogOutput(line);
                }
            });
            broker.Source = BrokerSource.LocalServer;
            return new Running { Cluster = cluster };
        }

        if (RabbitMqServer.IsInstalled)
        {
            broker.Source = BrokerSource.LocalServer;
            return new Running { Server = new RabbitMqServer(broker.Name, Path.Combine(context.StateDirectory, broker.Name), broker.LogOutput) };
        }

        broker.Source = BrokerSource.Container;
        return new Running { Container = new RabbitMqContainer(broker.Name, broker.LogOutput) };
    }

    /// <summary>Neither rabbitmq-server nor Docker: install the package, as Aspire would pull an image, or say how to get a broker.</summary>
    private static async Task InstallAsync(RabbitMqResource broker, DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        var allowed = context.Configuration.GetValue(BrokerInstaller.Setting, true);
        var facts = await BrokerInstaller.ObserveAsync(allowed, cancellationToken).ConfigureAwait(false);
        var plan = BrokerInstaller.Decide(facts);
        if (!plan.Install)
        {
            throw new InvalidOperationException(
                $"No RabbitMQ broker is available for '{broker.Name}': rabbitmq-server is not installed, no Docker engine answers, and {plan.Reason}. Any one of these works:\n" +
                $"  - install RabbitMQ from your package manager: {BrokerInstaller.ExactCommand} (Debian, Ubuntu); the AppHost then runs a private instance of it;\n" +
                "  - start a Docker engine: the AppHost then runs RabbitMQ in a container;\n" +
                $"  - point at an existing broker: ConnectionStrings__{broker.Name}=amqp://user:password@host:5672 dotnet run --project AspireKv.AppHost");
        }

        broker.Log($"rabbitmq-server is not installed and no Docker engine answers: installing it with apt-get ({plan.Reason}), the way an AppHost pulls an image on first use. " +
            "Its system service stays stopped; the AppHost runs a private instance. Turn this off with --no-broker-install.");
        await BrokerInstaller.InstallAsync(broker.Name, plan, broker.Log, cancellationToken).ConfigureAwait(false);
        broker.Log("rabbitmq-server is installed.");
    }

    /// <summary>What runs one broker resource: exactly one of these is set.</summary>
    private sealed class Running
    {
        public string? Existing { get; init; }

        public RabbitMqServer? Server { get; init; }

        public BrokerCluster? Cluster { get; init; }

        public RabbitMqContainer? Container { get; init; }

        public IReadOnlyList<RabbitMqServer> Servers => Cluster?.Brokers ?? (Server is null ? [] : [Server]);

        public string ConnectionString => Existing ?? Server?.ConnectionString ?? Container?.ConnectionString
            ?? Cluster!.ConnectionString;
    }
}
