using AspireKv.Client;
using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Processes;
using Microsoft.Extensions.Configuration;

namespace AspireKv.Hosting.Testing;

/// <summary>
/// Starts an AppHost's topology from a test, as .NET Aspire's testing builder does: it runs the
/// AppHost's own Program.cs, so the test gets exactly the topology it declares, but with a private
/// state folder and free ports, and without the console or the dashboard unless asked.
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    /// <summary>
    /// Runs <typeparamref name="TEntryPoint"/>'s assembly's entry point (the AppHost's Program),
    /// starts the application it builds and waits until every resource is healthy.
    /// </summary>
    public static async Task<TestingApplication> StartAsync<TEntryPoint>(
        string[]? args = null,
        IReadOnlyDictionary<string, string?>? configuration = null,
        Action<LogLine>? output = null,
        CancellationToken cancellationToken = default)
    {
        var entryPoint = typeof(TEntryPoint).Assembly.EntryPoint
            ?? throw new InvalidOperationException($"{typeof(TEntryPoint).Assembly.GetName().Name} has no entry point.");
        var state = new TempDirectory("aspirekv-apphost");
        var handOver = new HandOver();
        Task main;

        // The subscription flows into the entry point with the execution context: its builder takes
        // the test's configuration, and its Run hands the application over instead of running it.
        using (DistributedApplicationEvents.Subscribe(builderCreated: b => Configure(b, state.Path, configuration), run: handOver.RunAsync))
        {
            main = Task.Run(() =>
            {
                try
                {
                    entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? null : [args ?? []]);
                }
                catch (Exception ex)
                {
                    handOver.Fail(ex.InnerException ?? ex);
                }
            });
        }

        var app = await handOver.Built.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        return await StartBuiltAsync(new TestingApplication(app, handOver, main, state), output, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a topology the test declares itself, as a Program.cs would (for example with the
    /// broker under another name), using the projects <typeparamref name="TEntryPoint"/>'s AppHost
    /// was built with; then waits until every resource is healthy.
    /// </summary>
    public static async Task<TestingApplication> StartAsync<TEntryPoint>(
        Action<DistributedApplicationBuilder> declare,
        string[]? args = null,
        IReadOnlyDictionary<string, string?>? configuration = null,
        Action<LogLine>? output = null,
        CancellationToken cancellationToken = default)
    {
        var state = new TempDirectory("aspirekv-apphost");
        DistributedApplication app;
        try
        {
            using (DistributedApplicationEvents.Subscribe(builderCreated: b => Configure(b, state.Path, configuration)))
            {
                var builder = new DistributedApplicationBuilder(args ?? [], typeof(TEntryPoint).Assembly);
                declare(builder);
                app = builder.Build();
            }
        }
        catch
        {
            state.Dispose();
            throw;
        }

        var released = new HandOver();
        released.Release();
        return await StartBuiltAsync(new TestingApplication(app, released, Task.CompletedTask, state), output, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the testing builder changes about an application: a private state folder, no console output and no dashboard (unless <paramref name="configuration"/> asks), then the test's configuration.</summary>
    private static void Configure(DistributedApplicationBuilder builder, string stateDirectory, IReadOnlyDictionary<string, string?>? configuration)
    {
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateDirectory"] = stateDirectory,
            ["EndpointsFile"] = Path.Combine(stateDirectory, "endpoints.json"),
            ["Dashboard:Enabled"] = "false",
            ["ConsoleOutput"] = "false",
        });
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }
    }

    private static async Task<TestingApplication> StartBuiltAsync(TestingApplication testing, Action<LogLine>? output, CancellationToken cancellationToken)
    {
        testing.Application.Output = output;
        try
        {
            await testing.Application.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await testing.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return testing;
    }
}

/// <summary>An application a test started: its resources by name, clients, and control over each resource.</summary>
public sealed class TestingApplication : IAsyncDisposable
{
    private readonly HandOver _handOver;
    private readonly Task _main;
    private readonly TempDirectory _state;
    private readonly Dictionary<string, KvClient> _clients = new(StringComparer.OrdinalIgnoreCase);

    internal TestingApplication(DistributedApplication app, HandOver handOver, Task main, TempDirectory state)
    {
        Application = app;
        _handOver = handOver;
        _main = main;
        _state = state;
    }

    public DistributedApplication Application { get; }

    public IReadOnlyList<Resource> Resources => Application.Resources;

    public Resource GetResource(string name) => Application.GetResource(name);

    /// <summary>The address of <paramref name="resource"/>'s <paramref name="endpoint"/> endpoint.</summary>
    public Uri GetEndpoint(string resource, string endpoint = "grpc") =>
        GetResource(resource).Endpoints.TryGetValue(endpoint, out var address)
            ? address
            : throw new ArgumentException($"{resource} has no endpoint '{endpoint}'.", nameof(endpoint));

    /// <summary>A client of node <paramref name="resource"/>, shared for the application's life.</summary>
    public KvClient CreateKvClient(string resource)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(resource, out var client))
            {
                client = _clients[resource] = new KvClient(GetEndpoint(resource).ToString(), new KvClientOptions { DefaultTimeout = TimeSpan.FromSeconds(15) });
            }

            return client;
        }
    }

    public Task StartAsync(string resource, CancellationToken cancellationToken = default) => Application.StartResourceAsync(resource, cancellationToken);

    public Task StopAsync(string resource) => Application.StopResourceAsync(resource);

    /// <summary>The broker of <paramref name="broker"/>'s cluster that leads the nodes' stream now; null when none can say.</summary>
    public Task<BrokerResource?> GetStreamLeaderAsync(string broker = "messaging") => Application.GetStreamLeaderAsync(broker);

    /// <summary>SIGKILL: the resource ends at once.</summary>
    public Task KillAsync(string resource) => Application.KillResourceAsync(resource);

    public Task RestartAsync(string resource, CancellationToken cancellationToken = default) => Application.RestartResourceAsync(resource, cancellationToken);

    /// <summary>Adds a node declared like the others (node4 after node3), starts it and waits until it serves; returns its name.</summary>
    public async Task<string> AddNodeAsync(CancellationToken cancellationToken = default) =>
        (await Application.AddNodeAsync(cancellationToken).ConfigureAwait(false)).Name;

    /// <summary>Takes a node out of the topology: stopped, dropped from the resources, its state deleted (and its client here with it).</summary>
    public async Task RemoveNodeAsync(string resource)
    {
        await Application.RemoveNodeAsync(resource).ConfigureAwait(false);
        lock (_clients)
        {
            if (_clients.Remove(resource, out var client))
            {
                client.Dispose();
            }
        }
    }

    /// <summary>SIGSTOP: the node freezes with its sockets open.</summary>
    public Task PauseAsync(string resource) => Application.PauseResourceAsync(resource);

    /// <summary>SIGCONT: a paused node goes on.</summary>
    public Task ResumeAsync(string resource) => Application.ResumeResourceAsync(resource);

    /// <summary>Waits until <paramref name="resource"/> reports healthy.</summary>
    public async Task WaitForHealthyAsync(string resource, TimeSpan timeout)
    {
        var target = GetResource(resource);
        var deadline = DateTime.UtcNow + timeout;
        while (await Application.CheckResourceHealthAsync(resource).ConfigureAwait(false) != ResourceHealth.Healthy)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{resource} was not healthy within {timeout.TotalSeconds:F0} s (it is {target.State}).");
            }

            await Task.Delay(200).ConfigureAwait(false);
        }
    }

    /// <summary>The last lines every resource wrote, for a failing assertion to show.</summary>
    public string RecentLogs(int lines = 100) =>
        string.Join('\n', Resources.SelectMany(r => r.Logs.Snapshot()).OrderBy(l => l.Time).TakeLast(lines).Select(l => $"{l.Resource}: {l.Text}"));

    /// <summary>Stops every resource, removes the state folder and ends the AppHost's entry point, even after a failed test.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        try
        {
            await Application.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _handOver.Release();
            await _main.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            _state.Dispose();
        }
    }
}
