using System.Reflection;
using System.Runtime.InteropServices;
using AspireKv.Client;
using AspireKv.Client.Discovery;
using AspireKv.Hosting.Dashboard;
using AspireKv.Hosting.Orchestration;
using AspireKv.Hosting.Processes;
using Microsoft.Extensions.Configuration;

namespace AspireKv.Hosting.AppModel;

/// <summary>
/// A built application: its resources, which its orchestrator starts in dependency order, watches,
/// controls one by one and stops together. <see cref="Run"/> is what an AppHost's Program.cs ends with.
/// </summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private readonly Assembly _appHost;
    private readonly ConsoleLog? _console;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<AppHostLock> _locks = [];
    private bool _wroteEndpoints;
    private Task _healthLoop = Task.CompletedTask;
    private readonly Lock _adding = new();
    private bool _started;
    private int _disposed;

    internal DistributedApplication(DistributedApplicationOptions options, IConfiguration configuration, IReadOnlyList<Resource> resources, Assembly appHost)
    {
        Options = options;
        Configuration = configuration;
        _appHost = appHost;
        if (options.ConsoleOutput)
        {
            _console = new ConsoleLog(resources.Select(r => r.Name));
        }

        foreach (var resource in resources)
        {
            resource.Output = line => Output?.Invoke(line);
            resource.EchoOutput = options.Verbose || resource is not (RabbitMqResource or BrokerResource);
        }

        Output = _console is null ? null : _console.Write;
        Context = new DistributedApplicationContext
        {
            Configuration = configuration,
            StateDirectory = options.StateDirectory,
            ProjectPath = name => ResourceProjects.GetPath(name, _appHost),
            Resources = [.. resources],
        };
        Orchestrator = new Orchestrator(Context);
    }

    public DistributedApplicationOptions Options { get; }

    public IConfiguration Configuration { get; }

    /// <summary>The resources; a node added (<see cref="AddNodeAsync"/>) or removed (<see cref="RemoveNodeAsync"/>) while it runs replaces the list.</summary>
    public IReadOnlyList<Resource> Resources => Context.Resources;

    public DistributedApplicationContext Context { get; }

    /// <summary>What runs the resources: one runner per kind of resource.</summary>
    internal Orchestrator Orchestrator { get; }

    /// <summary>Receives every resource's log lines; the console by default.</summary>
    public Action<LogLine>? Output { get; set; }

    /// <summary>The dashboard, while it serves.</summary>
    public DashboardServer? Dashboard { get; private set; }

    /// <summary>Called from the AppHost's Program.cs; the calling assembly is the AppHost, whose build recorded where the nodes are.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public static DistributedApplicationBuilder CreateBuilder(string[] args)
    {
        var appHost = Assembly.GetCallingAssembly();
        try
        {
            return new DistributedApplicationBuilder(args, appHost);
        }
        catch (UsageException ex)
        {
            if (ex.IsHelp)
            {
                Console.WriteLine(DistributedApplicationBuilder.Usage);
                Environment.Exit(0);
            }

            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine();
            Console.Error.WriteLine(DistributedApplicationBuilder.Usage);
            Environment.Exit(2);
            throw;
        }
    }

    public Resource GetResource(string name) =>
        Resources.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"There is no resource named '{name}'; there are {string.Join(", ", Resources.Select(r => r.Name))}.", nameof(name));

    public T GetResource<T>(string name)
        where T : Resource =>
        GetResource(name) as T ?? throw new ArgumentException($"Resource '{name}' is not a {typeof(T).Name}.", nameof(name));

    /// <summary>Starts every resource in dependency order and waits until all are healthy.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        PrepareStateDirectory();
        if (Options.DashboardEnabled)
        {
            Dashboard = new DashboardServer(this, Options.DashboardPort);
            await Dashboard.StartAsync(cancellationToken).ConfigureAwait(false);
            Context.OtlpEndpoint = Dashboard.OtlpEndpoint;
            Context.OtlpHeaders = $"{DashboardServer.ApiKeyHeader}={Dashboard.OtlpApiKey}";
            _console?.Say($"Dashboard: {Dashboard.LoginUrl}");
        }

        // Ports are given as the application starts, not when resources are declared.
        await Orchestrator.StartAllAsync(Resources, cancellationToken).ConfigureAwait(false);

        WriteEndpointsFile();
        _healthLoop = Task.Run(() => Orchestrator.WatchHealthAsync(() => Resources, _stopping.Token), CancellationToken.None);
        _console?.Say(DescribeResources());
    }

    /// <summary>Stops every resource, dependents first, and removes the discovery file.</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _healthLoop.ConfigureAwait(false);

        if (_wroteEndpoints)
        {
            TryDelete(Options.EndpointsFile);
        }

        await Orchestrator.StopAllAsync(Resources).ConfigureAwait(false);

        if (Dashboard is not null)
        {
            await Dashboard.DisposeAsync().ConfigureAwait(false);
            Dashboard = null;
        }

        foreach (var held in _locks)
        {
            held.Dispose();
        }

        _locks.Clear();
    }

    /// <summary>Runs until Ctrl+C (SIGINT) or SIGTERM, then stops everything.</summary>
    public void Run() => RunAsync().GetAwaiter().GetResult();

    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (DistributedApplicationEvents.RunOverride is { } run)
        {
            // A subscriber (the testing builder) runs the application its own way.
            await run(this).ConfigureAwait(false);
            return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (!stop.IsCancellationRequested)
            {
                _console?.Say("Stopping: the nodes, then the broker...");
                stop.Cancel();
            }
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
        try
        {
            await StartAsync(stop.Token).ConfigureAwait(false);
            if (Dashboard is not null)
            {
                // Aspire keeps the dashboard link in view: say it again under the table.
                _console?.Say($"Dashboard: {Dashboard.LoginUrl}");
            }

            _console?.Say("AspireKv is ready. Press Ctrl+C to stop.");
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"The AppHost could not start: {ex.Message}");
            Environment.ExitCode = 1;
        }
        finally
        {
            await StopAsync().ConfigureAwait(false);
            _console?.Say("Stopped.");
        }
    }

    public Task StartResourceAsync(string name, CancellationToken cancellationToken = default) =>
        Orchestrator.StartAsync(Requested(name, "start"), cancellationToken);

    public Task StopResourceAsync(string name) => Orchestrator.StopAsync(Requested(name, "stop"));

    /// <summary>Ends the resource's process at once with SIGKILL.</summary>
    public Task KillResourceAsync(string name) => Orchestrator.KillAsync(Requested(name, "kill (SIGKILL)"));

    /// <summary>Checks the resource's health now, as the dashboard's health column does every two seconds.</summary>
    public Task<ResourceHealth> CheckResourceHealthAsync(string name, CancellationToken cancellationToken = default) =>
        Orchestrator.CheckHealthAsync(GetResource(name), cancellationToken);

    /// <summary>
    /// The broker of <paramref name="broker"/>'s cluster that leads <paramref name="stream"/> (writes
    /// it and replicates it to the others), as the cluster reports it; null for a lone broker, or
    /// when no running broker can say.
    /// </summary>
    public Task<BrokerResource?> GetStreamLeaderAsync(string broker, string stream = LogNames.Stream) =>
        Orchestrator.Brokers.GetStreamLeaderAsync(GetResource<RabbitMqResource>(broker), stream);

    /// <summary>
    /// Adds one more node to the running application, declared like the last one (its broker,
    /// settings and name prefix, numbered on: node4 after node3), starts it and waits until it
    /// serves. It catches up as any node does: from the log, or from a peer's snapshot where the
    /// log no longer starts at offset 0.
    /// </summary>
    public async Task<NodeResource> AddNodeAsync(CancellationToken cancellationToken = default)
    {
        NodeResource node;
        lock (_adding)
        {
            var nodes = Resources.OfType<NodeResource>().ToList();
            var template = nodes.LastOrDefault() ?? throw new InvalidOperationException("This application declares no nodes, so there is none to add one like.");
            var prefix = template.Name.TrimEnd("0123456789".ToCharArray());
            var next = nodes.Select(n => n.Name[prefix.Length..]).Where(n => n.Length > 0 && n.All(char.IsAsciiDigit) && n.Length < 9).Select(int.Parse).DefaultIfEmpty(0).Max() + 1;
            node = template.CreateSibling($"{prefix}{next}");
            node.Output = line => Output?.Invoke(line);
            Orchestrator.AllocateEndpoints(node);
            Context.Resources = [.. Resources, node];
        }

        node.LogAction("add");
        await Orchestrator.StartAsync(node, cancellationToken).ConfigureAwait(false);
        if (_wroteEndpoints)
        {
            WriteEndpointsFile();
        }

        return node;
    }

    /// <summary>
    /// Takes node <paramref name="name"/> out of the running application, as a replica leaves: it is
    /// stopped, dropped from the resources and the endpoints file, and its state folder is deleted,
    /// so that a node added later under the same name starts empty and catches up. The other nodes
    /// go on; one that later needs a peer's snapshot asks the nodes that remain. The last node
    /// cannot be removed.
    /// </summary>
    public async Task RemoveNodeAsync(string name)
    {
        NodeResource node;
        lock (_adding)
        {
            var resource = GetResource(name);
            node = resource as NodeResource
                ?? throw new InvalidOperationException($"{resource.Name} is a {resource.Type}, not a node: only nodes can be removed.");
            if (!CanRemove(node))
            {
                throw new InvalidOperationException($"{node.Name} is the only node; a topology without nodes serves nothing. Stop it instead.");
            }

            Context.Resources = [.. Resources.Where(r => r != node)];
        }

        node.LogAction("remove");
        await Orchestrator.RemoveAsync(node).ConfigureAwait(false);
        var folder = Path.Combine(Options.StateDirectory, node.Name);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        node.MarkExited("removed from the application");
        if (_wroteEndpoints)
        {
            WriteEndpointsFile();
        }
    }

    /// <summary>Whether <paramref name="resource"/> may leave the application: a node, and not the last one.</summary>
    internal bool CanRemove(Resource resource) => resource is NodeResource && Resources.OfType<NodeResource>().Any(n => n != resource);

    /// <summary>Freezes the resource's process with SIGSTOP (nodes).</summary>
    public Task PauseResourceAsync(string name) => Orchestrator.PauseAsync(Requested(name, "pause (SIGSTOP)"));

    /// <summary>Lets a paused resource's process go on with SIGCONT.</summary>
    public Task ResumeResourceAsync(string name) => Orchestrator.ResumeAsync(Requested(name, "resume (SIGCONT)"));

    public async Task RestartResourceAsync(string name, CancellationToken cancellationToken = default)
    {
        var resource = Requested(name, "restart");
        await Orchestrator.StopAsync(resource).ConfigureAwait(false);
        await Orchestrator.StartAsync(resource, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The resources, their states and endpoints, as a table.</summary>
    public string DescribeResources()
    {
        var rows = Resources.Select(r => (r.Name, r.Type, State: r.State.ToString(), Endpoints: string.Join("  ", r.Endpoints.Select(e => $"{e.Key}: {e.Value.ToString().TrimEnd('/')}")))).ToList();
        var nameWidth = Math.Max(8, rows.Max(r => r.Name.Length));
        var typeWidth = Math.Max(4, rows.Max(r => r.Type.Length));
        var stateWidth = Math.Max(5, rows.Max(r => r.State.Length));
        var lines = new List<string>
        {
            $"{"Resource".PadRight(nameWidth)}  {"Type".PadRight(typeWidth)}  {"State".PadRight(stateWidth)}  Endpoints",
            $"{new string('-', nameWidth)}  {new string('-', typeWidth)}  {new string('-', stateWidth)}  {new string('-', 9)}",
        };
        lines.AddRange(rows.Select(r => $"{r.Name.PadRight(nameWidth)}  {r.Type.PadRight(typeWidth)}  {r.State.PadRight(stateWidth)}  {r.Endpoints}"));
        lines.Add(string.Empty);
        var node = Resources.OfType<NodeResource>().Skip(1).FirstOrDefault() ?? Resources.OfType<NodeResource>().FirstOrDefault();
        lines.Add($"Endpoints are also in {Options.EndpointsFile}; the aspirekv CLI reads them from there (try: {CliHint.Command($"--target {node?.Name ?? "node1"} status")}).");
        return string.Join('\n', lines);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>The resource a user asked something of, with the request written to its log and the terminal.</summary>
    private Resource Requested(string name, string action)
    {
        var resource = GetResource(name);
        resource.LogAction(action);
        return resource;
    }

    /// <summary>
    /// Takes the folder's lock before touching anything in it, so that a second AppHost started
    /// in the same folder (or on the same state) says so and leaves the first one's files alone.
    /// </summary>
    private void PrepareStateDirectory()
    {
        foreach (var folder in new[] { Path.GetDirectoryName(Options.EndpointsFile)!, Options.StateDirectory }.Distinct())
        {
            _locks.Add(AppHostLock.Acquire(folder, Options.EndpointsFile));
        }

        if (Options.Reset)
        {
            AppHostLock.EmptyExceptLock(Options.StateDirectory);
        }

        Directory.CreateDirectory(Options.StateDirectory);
    }

    private void WriteEndpointsFile()
    {
        var file = new EndpointsFile { AppHostPid = Environment.ProcessId, StartedAt = DateTimeOffset.UtcNow };
        foreach (var resource in Resources)
        {
            var entry = new EndpointsFile.ResourceEntry
            {
                Type = resource.Type,
                ConnectionString = (resource as RabbitMqResource)?.ConnectionString,
            };
            foreach (var (name, address) in resource.Endpoints)
            {
                entry.Endpoints[name] = address.ToString().TrimEnd('/');
            }

            file.Resources[resource.Name] = entry;
        }

        file.Dashboard = Dashboard?.Url.ToString();
        file.Otlp = Dashboard?.OtlpEndpoint.ToString().TrimEnd('/');
        file.OtlpHeaders = Context.OtlpHeaders;
        file.Save(Options.EndpointsFile);
        _wroteEndpoints = true;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
