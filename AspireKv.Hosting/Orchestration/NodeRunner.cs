using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Nodes;
using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.Orchestration;

/// <summary>
/// Runs node resources: each as a process of its project's build output, with the configuration
/// its annotations give it, on ports it keeps across restarts.
/// </summary>
internal sealed class NodeRunner : ResourceRunner<NodeResource>
{
    private readonly Dictionary<NodeResource, NodeProcess> _processes = [];

    /// <summary>A free port on loopback for each endpoint that has none yet; a node keeps its ports across restarts.</summary>
    protected override void AllocateEndpoints(NodeResource node)
    {
        foreach (var endpoint in node.Annotations.OfType<EndpointAnnotation>().Where(e => e.Address is null))
        {
            endpoint.Address = new Uri($"{endpoint.Scheme}://127.0.0.1:{PortAllocator.Next()}");
        }
    }

    protected override async Task StartAsync(NodeResource node, DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        if (node.State is ResourceState.Running or ResourceState.Starting)
        {
            return;
        }

        node.MarkStarting();
        try
        {
            AllocateEndpoints(node);
            var process = ProcessOf(node) ?? await CreateAsync(node, context, cancellationToken).ConfigureAwait(false);
            node.Environment = process.BuildEnvironment();
            process.Start();
            Track(node, process.Process!);
            await process.WaitHealthyAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
            node.MarkRunning();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            node.MarkFailed(ex.Message.Split('\n')[0]);
            throw;
        }
    }

    protected override async Task StopAsync(NodeResource node)
    {
        if (ProcessOf(node) is not { IsRunning: true } process)
        {
            return;
        }

        process.Process!.Resume(); // a paused node would not act on SIGTERM
        node.State = ResourceState.Stopping;
        var exitCode = await process.Process!.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        node.MarkExited($"stopped (exit code {exitCode})");
    }

    protected override async Task KillAsync(NodeResource node)
    {
        if (ProcessOf(node) is not { IsRunning: true } process)
        {
            return;
        }

        node.State = ResourceState.Stopping;
        await process.KillAsync().ConfigureAwait(false);
        node.MarkExited("killed (SIGKILL)");
    }

    protected override Task PauseAsync(NodeResource node)
    {
        if (node.State != ResourceState.Running || ProcessOf(node)?.Process is not { HasExited: false } process)
        {
            throw new InvalidOperationException($"{node.Name} is {node.State}: only a running node can be paused.");
        }

        process.Pause();
        node.StateDetail = "paused (SIGSTOP)";
        node.State = ResourceState.Paused;
        node.Log($"{node.Name} is paused (SIGSTOP): it answers nothing until it is resumed.");
        return Task.CompletedTask;
    }

    protected override Task ResumeAsync(NodeResource node)
    {
        if (node.State != ResourceState.Paused || ProcessOf(node)?.Process is not { HasExited: false } process)
        {
            throw new InvalidOperationException($"{node.Name} is {node.State}: only a paused node can be resumed.");
        }

        process.Resume();
        node.StateDetail = null;
        node.State = ResourceState.Running;
        node.Log($"{node.Name} is resumed (SIGCONT).");
        return Task.CompletedTask;
    }

    protected override async Task<ResourceHealth> CheckHealthAsync(NodeResource node, CancellationToken cancellationToken)
    {
        if (node.State != ResourceState.Running)
        {
            return ResourceHealth.Unknown;
        }

        try
        {
            using var response = await HealthProbe.Client.GetAsync(new Uri(node.HttpAddress, "/health"), cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return body.StartsWith("Healthy", StringComparison.Ordinal) ? ResourceHealth.Healthy
                : body.StartsWith("Degraded", StringComparison.Ordinal) ? ResourceHealth.Degraded
                : ResourceHealth.Unhealthy;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ResourceHealth.Unhealthy;
        }
    }

    protected override Task ReleaseAsync(NodeResource node)
    {
        lock (_processes)
        {
            _processes.Remove(node);
        }

        return Task.CompletedTask;
    }

    private NodeProcess? ProcessOf(NodeResource node)
    {
        lock (_processes)
        {
            return _processes.GetValueOrDefault(node);
        }
    }

    /// <summary>
    /// The node's process, with the configuration its annotations give: the referenced broker's
    /// connection string (waited for until the broker has resolved it, as a reference does; a
    /// WaitFor also waits for the broker to be healthy), its environment, and every node with
    /// ports as a peer.
    /// </summary>
    private async Task<NodeProcess> CreateAsync(NodeResource node, DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        var broker = node.Broker;
        var connectionString = broker is null ? null : await broker.GetConnectionStringAsync(cancellationToken).ConfigureAwait(false);
        var peers = context.Resources.OfType<NodeResource>().Where(n => n.Endpoints.ContainsKey("grpc")).ToDictionary(n => n.Name, n => n.GrpcAddress);
        var environment = node.Annotations.OfType<EnvironmentAnnotation>().GroupBy(e => e.Name).ToDictionary(g => g.Key, g => g.Last().Value);
        if (context.OtlpEndpoint is { } otlp)
        {
            // As an Aspire AppHost does in development: export to the dashboard, often.
            environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.ToString().TrimEnd('/');
            environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            environment["OTEL_EXPORTER_OTLP_HEADERS"] = context.OtlpHeaders;
            environment["OTEL_TRACES_SAMPLER"] = "always_on";
            environment["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
            environment["OTEL_BSP_SCHEDULE_DELAY"] = "500";
            environment["OTEL_BLRP_SCHEDULE_DELAY"] = "500";
        }

        environment["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={node.Name}-{Guid.NewGuid().ToString("N")[..8]}";
        var spec = new NodeSpec(node.Name, node.GrpcAddress.Port, node.HttpAddress.Port, Path.Combine(context.StateDirectory, node.Name))
        {
            BrokerConnectionString = connectionString,
            BrokerConnectionName = broker?.Name ?? "messaging",
            Peers = peers,
            Environment = environment,
        };
        var project = node.Annotations.OfType<ProjectAnnotation>().LastOrDefault()?.AssemblyName ?? ResourceProjects.Node;
        var process = new NodeProcess(spec, context.ProjectPath(project), node.Log);
        lock (_processes)
        {
            _processes[node] = process;
        }

        return process;
    }
}
