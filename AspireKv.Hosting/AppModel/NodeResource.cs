using AspireKv.Hosting.Nodes;
using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.AppModel;

/// <summary>
/// One AspireKv node, run from the built AspireKv.Node with the configuration an Aspire AppHost
/// gives a project: its Kestrel URLs, <c>ConnectionStrings__{broker}</c> for the broker it references, every node's
/// <c>services__nodeN__grpc__0</c>, and the <c>OTEL_*</c> variables.
/// </summary>
public sealed class NodeResource : Resource
{
    private (int Grpc, int Http)? _ports;
    private readonly Dictionary<string, string?> _environment = [];
    private NodeProcess? _process;

    public NodeResource(string name)
        : base(name, "node")
    {
    }

    /// <summary>The broker this node replicates through.</summary>
    public RabbitMqResource? Broker { get; internal set; }

    public Uri GrpcAddress => new($"http://127.0.0.1:{Ports.Grpc}");

    public Uri HttpAddress => new($"http://127.0.0.1:{Ports.Http}");

    /// <summary>The node's addresses, once the application has started and given it its ports.</summary>
    public override IReadOnlyDictionary<string, Uri> Endpoints => _ports is null
        ? new Dictionary<string, Uri>()
        : new Dictionary<string, Uri> { ["grpc"] = GrpcAddress, ["http"] = HttpAddress };

    private (int Grpc, int Http) Ports => _ports ?? throw new InvalidOperationException($"{Name} has no ports yet: they are given when the application starts.");

    /// <summary>
    /// Takes the node's two ports, once: the application does so for every node as it starts (a
    /// node's peers need every address before any node runs), and the node keeps them across restarts.
    /// </summary>
    internal void AllocatePorts() => _ports ??= (PortAllocator.Next(), PortAllocator.Next());

    /// <summary>The environment of the node's last start, for inspection.</summary>
    public IReadOnlyDictionary<string, string?> Environment => _process?.BuildEnvironment() ?? new Dictionary<string, string?>();

    internal void SetEnvironment(string key, string? value) => _environment[key] = value;

    /// <summary>A node named <paramref name="name"/> declared like this one: the same broker, settings and dependencies.</summary>
    internal NodeResource CreateSibling(string name)
    {
        var sibling = new NodeResource(name) { Broker = Broker };
        foreach (var (key, value) in _environment)
        {
            sibling.SetEnvironment(key, value);
        }

        foreach (var dependency in WaitsFor)
        {
            sibling.AddWaitFor(dependency);
        }

        return sibling;
    }

    public override async Task StartAsync(DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        if (State is ResourceState.Running or ResourceState.Starting)
        {
            return;
        }

        MarkStarting();
        try
        {
            AllocatePorts();
            _process ??= await CreateAsync(context, cancellationToken).ConfigureAwait(false);
            _process.Start();
            Track(_process.Process!);
            await _process.WaitHealthyAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
            MarkRunning();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MarkFailed(ex.Message.Split('\n')[0]);
            throw;
        }
    }

    public override async Task StopAsync()
    {
        if (_process is not { IsRunning: true })
        {
            return;
        }

        _process.Process!.Resume(); // a paused node would not act on SIGTERM
        State = ResourceState.Stopping;
        var exitCode = await _process.Process!.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        MarkExited($"stopped (exit code {exitCode})");
    }

    public override async Task KillAsync()
    {
        if (_process is not { IsRunning: true })
        {
            return;
        }

        State = ResourceState.Stopping;
        await _process.KillAsync().ConfigureAwait(false);
        MarkExited("killed (SIGKILL)");
    }

    public override bool CanPause => true;

    public override Task PauseAsync()
    {
        if (State != ResourceState.Running || _process?.Process is not { HasExited: false } process)
        {
            throw new InvalidOperationException($"{Name} is {State}: only a running node can be paused.");
        }

        process.Pause();
        StateDetail = "paused (SIGSTOP)";
        State = ResourceState.Paused;
        Log($"{Name} is paused (SIGSTOP): it answers nothing until it is resumed.");
        return Task.CompletedTask;
    }

    public override Task ResumeAsync()
    {
        if (State != ResourceState.Paused || _process?.Process is not { HasExited: false } process)
        {
            throw new InvalidOperationException($"{Name} is {State}: only a paused node can be resumed.");
        }

        process.Resume();
        StateDetail = null;
        State = ResourceState.Running;
        Log($"{Name} is resumed (SIGCONT).");
        return Task.CompletedTask;
    }

    public override async Task<ResourceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (State != ResourceState.Running)
        {
            return ResourceHealth.Unknown;
        }

        try
        {
            using var response = await HealthProbe.Client.GetAsync(new Uri(HttpAddress, "/health"), cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// The node's process, with the configuration its declaration gives: the referenced broker's
    /// connection string (waited for until the broker has resolved it, as a reference does; a
    /// WaitFor also waits for the broker to be healthy) and every node with ports as a peer.
    /// </summary>
    private async Task<NodeProcess> CreateAsync(DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        var connectionString = Broker is null ? null : await Broker.GetConnectionStringAsync(cancellationToken).ConfigureAwait(false);
        var peers = context.Resources.OfType<NodeResource>().Where(n => n._ports is not null).ToDictionary(n => n.Name, n => n.GrpcAddress);
        var environment = new Dictionary<string, string?>(_environment);
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

        environment["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={Name}-{Guid.NewGuid().ToString("N")[..8]}";
        var spec = new NodeSpec(Name, Ports.Grpc, Ports.Http, Path.Combine(context.StateDirectory, Name))
        {
            BrokerConnectionString = connectionString,
            BrokerConnectionName = Broker?.Name ?? "messaging",
            Peers = peers,
            Environment = environment,
        };
        return new NodeProcess(spec, context.ProjectPath(ResourceProjects.Node), Log);
    }
}
