using AspireKv.Client;
using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Processes;

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
        var overrides = new TestingOverrides(state.Path, configuration ?? new Dictionary<string, string?>());

        var previous = TestingOverrides.Current;
        TestingOverrides.Current = overrides;
        Task main;
        try
        {
            // The entry point runs on its own; the overrides flow into it with the execution context.
            main = Task.Run(() =>
            {
                try
                {
                    entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? null : [args ?? []]);
                }
                catch (Exception ex)
                {
                    overrides.Fail(ex.InnerException ?? ex);
                }
            });
        }
        finally
        {
            TestingOverrides.Current = previous;
        }

        var app = await overrides.Built.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        return await StartBuiltAsync(new TestingApplication(app, overrides, main, state), output, cancellationToken).ConfigureAwait(false);
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
        var overrides = new TestingOverrides(state.Path, configuration ?? new Dictionary<string, string?>());
        DistributedApplication app;
        try
        {
            var builder = new DistributedApplicationBuilder(args ?? [], typeof(TEntryPoint).Assembly, overrides);
            declare(builder);
            app = builder.Build();
        }
        catch
        {
            state.Dispose();
            throw;
        }

        return await StartBuiltAsync(new TestingApplication(app, overrides, Task.CompletedTask, state), output, cancellationToken).ConfigureAwait(false);
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
    private readonly TestingOverrides _overrides;
    private readonly Task _main;
    private readonly TempDirectory _state;
    private readonly Dictionary<string, KvClient> _clients = new(StringComparer.OrdinalIgnoreCase);

    internal TestingApplication(DistributedApplication app, TestingOverrides overrides, Task main, TempDirectory state)
    {
        Application = app;
        _overrides = overrides;
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

    /// <summary>SIGKILL: the resource ends at once.</summary>
    public Task KillAsync(string resource) => Application.KillResourceAsync(resource);

    public Task RestartAsync(string resource, CancellationToken cancellationToken = default) => Application.RestartResourceAsync(resource, cancellationToken);

    /// <summary>Adds a node declared like the others (node4 after node3), starts it and waits until it serves; returns its name.</summary>
    public async Task<string> AddNodeAsync(CancellationToken cancellationToken = default) =>
        (await Application.AddNodeAsync(cancellationToken).ConfigureAwait(false)).Name;

    /// <summary>SIGSTOP: the node freezes with its sockets open.</summary>
    public Task PauseAsync(string resource) => Application.PauseResourceAsync(resource);

    /// <summary>SIGCONT: a paused node goes on.</summary>
    public Task ResumeAsync(string resource) => Application.ResumeResourceAsync(resource);

    /// <summary>Waits until <paramref name="resource"/> reports healthy.</summary>
    public async Task WaitForHealthyAsync(string resource, TimeSpan timeout)
    {
        var target = GetResource(resource);
        var deadline = DateTime.UtcNow + timeout;
        while (await target.CheckHealthAsync(CancellationToken.None).ConfigureAwait(false) != ResourceHealth.Healthy)
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
            _overrides.Release();
            await _main.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            _state.Dispose();
        }
    }
}
