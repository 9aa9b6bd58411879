using System.Collections.Concurrent;
using Aspire.Hosting.Testing;
using AspireKv.Client;
using AspireKv.Client.Discovery;
using AspireKv.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace AspireKv.EndToEndTests;

/// <summary>
/// The AppHost's topology started through Aspire.Hosting.Testing, in a temp folder of its own (state
/// and endpoints file), with what the tests do to it: clients by resource name, the resource
/// commands (start, stop, restart, kill, pause, resume, leave), waiting on the resource
/// notification service, and every resource's console log for failure messages.
/// </summary>
public sealed class AspireKvApp : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly ConcurrentDictionary<string, KvClient> _clients = new(StringComparer.OrdinalIgnoreCase);
    private readonly LogBuffer _logs = new(4000);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TempDirectory _folder;

    private AspireKvApp(DistributedApplication application, TempDirectory folder)
    {
        Application = application;
        _folder = folder;
    }

    public DistributedApplication Application { get; }

    /// <summary>Where the broker and the nodes keep their data.</summary>
    public string StateDirectory => Path.Combine(_folder.Path, "state");

    /// <summary>The endpoints file the AppHost writes for the CLI.</summary>
    public string EndpointsFile => Path.Combine(_folder.Path, "endpoints.json");

    /// <summary>Every resource of the model, in declaration order.</summary>
    public IReadOnlyList<IResource> Resources => [.. Application.Services.GetRequiredService<DistributedApplicationModel>().Resources];

    public ResourceNotificationService Notifications => Application.ResourceNotifications;

    /// <summary>
    /// Starts the AppHost of AspireKv.AppHost/Program.cs with <paramref name="args"/>, optionally
    /// changed by <paramref name="configure"/>, and waits until <paramref name="healthy"/> (by default
    /// the broker and every node that runs from the start) is healthy.
    /// </summary>
    public static Task<AspireKvApp> StartAsync(string[] args, Action<IDistributedApplicationTestingBuilder>? configure = null, bool dashboard = false, IReadOnlyList<string>? healthy = null) =>
        StartAsync(folder => DistributedApplicationTestingBuilder.CreateAsync<Projects.AspireKv_AppHost>(
            new DistributedApplicationTestingBuilderOptions { EnableDashboard = dashboard }, [.. args, .. FolderArgs(folder), .. (dashboard ? DashboardKeys : [])]), configure, healthy);

    /// <summary>The keys a run of the AppHost would keep in its user secrets: the browser token, the telemetry API's key, and OTLP's.</summary>
    private static string[] DashboardKeys =>
        [$"--AppHost:BrowserToken={Guid.NewGuid():N}", $"--AppHost:DashboardApiKey={Guid.NewGuid():N}", $"--AppHost:OtlpApiKey={Guid.NewGuid():N}"];

    /// <summary>Starts a topology declared by the test itself, on the same integrations as the AppHost.</summary>
    public static Task<AspireKvApp> StartDeclaredAsync(string[] args, Action<IDistributedApplicationTestingBuilder> declare, IReadOnlyList<string>? healthy = null) =>
        StartAsync(folder => Task.FromResult(DistributedApplicationTestingBuilder.Create([.. args, .. FolderArgs(folder)])), declare, healthy);

    private static async Task<AspireKvApp> StartAsync(Func<TempDirectory, Task<IDistributedApplicationTestingBuilder>> create, Action<IDistributedApplicationTestingBuilder>? configure, IReadOnlyList<string>? healthy)
    {
        var folder = new TempDirectory("aspirekv-e2e");
        DistributedApplication? application = null;
        try
        {
            var builder = await create(folder);
            configure?.Invoke(builder);
            application = await builder.BuildAsync();
            var app = new AspireKvApp(application, folder);
            using var timeout = new CancellationTokenSource(Patience);
            await application.StartAsync(timeout.Token);
            app.CollectLogs(); // once DCP has named each resource's instance; the logs kept so far come first
            var waitFor = healthy ?? [.. app.Resources.Where(r => r.Name == "messaging" || (r is ProjectResource && !r.TryGetAnnotationsOfType<ExplicitStartupAnnotation>(out _))).Select(r => r.Name)];
            await Task.WhenAll(waitFor.Select(name => app.WaitForHealthyAsync(name, timeout.Token)));
            return app;
        }
        catch
        {
            if (application is not null)
            {
                await application.DisposeAsync();
            }

            folder.Dispose();
            throw;
        }
    }

    private static string[] FolderArgs(TempDirectory folder) =>
        [$"--StateDirectory={Path.Combine(folder.Path, "state")}", $"--EndpointsFile={Path.Combine(folder.Path, "endpoints.json")}"];

    public IResource GetResource(string name) => Resources.First(r => r.Name == name);

    public Uri GetEndpoint(string resource, string endpoint = "grpc") => Application.GetEndpoint(resource, endpoint);

    /// <summary>A client of <paramref name="resource"/>'s gRPC endpoint, kept for the life of the app.</summary>
    public KvClient CreateKvClient(string resource) => _clients.GetOrAdd(resource, r => new KvClient(GetEndpoint(r).ToString()));

    /// <summary>The resource's state as the dashboard shows it (Running, Exited, Paused…).</summary>
    public string? State(string resource) => Notifications.TryGetCurrentState(resource, out var current) ? current.Snapshot.State?.Text : null;

    /// <summary>The pid of the resource's process, as DCP reports it.</summary>
    public int? Pid(string resource) =>
        Notifications.TryGetCurrentState(resource, out var current) ? AspireKv.Hosting.ResourceProcess.PidOf(current.Snapshot) : null;

    /// <summary>The endpoints file as the AppHost last wrote it.</summary>
    public EndpointsFile Endpoints() => Client.Discovery.EndpointsFile.Load(EndpointsFile);

    public async Task ExecuteAsync(string resource, string command)
    {
        var result = await Application.ResourceCommands.ExecuteCommandAsync(GetResource(resource), command);
        if (!result.Success)
        {
            throw new InvalidOperationException($"{command} on {resource} failed: {result.Message}");
        }
    }

    /// <summary>SIGKILL through the resource's kill command; returns once the process is gone.</summary>
    public async Task KillAsync(string resource)
    {
        await ExecuteAsync(resource, "kill");
        await WaitForStateAsync(resource, s => s is "Exited" or "Finished" or "FailedToStart");
    }

    /// <summary>The built-in start, then until the resource is healthy.</summary>
    public async Task StartAsync(string resource)
    {
        await ExecuteAsync(resource, KnownResourceCommands.StartCommand);
        using var timeout = new CancellationTokenSource(Patience);
        await WaitForHealthyAsync(resource, timeout.Token);
    }

    public async Task StopAsync(string resource)
    {
        await ExecuteAsync(resource, KnownResourceCommands.StopCommand);
        await WaitForStateAsync(resource, s => s is "Exited" or "Finished");
    }

    public async Task RestartAsync(string resource)
    {
        await ExecuteAsync(resource, KnownResourceCommands.RestartCommand);
        using var timeout = new CancellationTokenSource(Patience);
        await WaitForHealthyAsync(resource, timeout.Token);
    }

    public Task PauseAsync(string resource) => ExecuteAsync(resource, "pause");

    public Task ResumeAsync(string resource) => ExecuteAsync(resource, "resume");

    public Task LeaveAsync(string resource) => ExecuteAsync(resource, "leave");

    public async Task WaitForHealthyAsync(string resource, CancellationToken cancellationToken)
    {
        try
        {
            await Notifications.WaitForResourceHealthyAsync(resource, WaitBehavior.WaitOnResourceUnavailable, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{resource} did not become healthy (it is {State(resource)}). Recent logs:\n{RecentLogs()}");
        }
    }

    public async Task WaitForStateAsync(string resource, Func<string?, bool> state)
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            await Notifications.WaitForResourceAsync(resource, e => state(e.Snapshot.State?.Text), timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"{resource} did not reach the state asked for (it is {State(resource)}). Recent logs:\n{RecentLogs()}");
        }
    }

    /// <summary>The broker of <paramref name="cluster"/> that leads the nodes' stream, as a running broker's management API says; null while none says.</summary>
    public async Task<RabbitMQServerProcessResource?> GetStreamLeaderAsync(RabbitMQClusterResource cluster)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var broker in cluster.Brokers.Where(b => State(b.Name) == "Running"))
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(broker.Layout.ManagementUrl, "/api/queues/%2F/aspirekv.log"));
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"guest:{broker.Layout.Password}")));
                using var response = await http.SendAsync(request);
                if (!response.IsSuccessStatusCode)
                {
                    continue;
                }

                using var queue = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var root = queue.RootElement;
                var leader = (root.TryGetProperty("leader", out var l) ? l : root.TryGetProperty("node", out var n) ? n : default).ToString();
                if (cluster.Brokers.FirstOrDefault(b => b.Layout.NodeName == leader) is { } found)
                {
                    return found;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
        }

        return null;
    }

    /// <summary>The last console lines of every resource, for a failing test's message.</summary>
    public string RecentLogs(int lines = 200) => string.Join('\n', _logs.Snapshot().TakeLast(lines).Select(l => $"{l.Resource}: {l.Text}"));

    /// <summary>The console lines of one resource so far.</summary>
    public IReadOnlyList<string> Logs(string resource) => [.. _logs.Snapshot().Where(l => l.Resource == resource).Select(l => l.Text)];

    private void CollectLogs()
    {
        var logs = Application.Services.GetRequiredService<ResourceLoggerService>();
        foreach (var resource in Resources)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await foreach (var batch in logs.WatchAsync(resource).WithCancellation(_stopping.Token))
                    {
                        foreach (var line in batch)
                        {
                            _logs.Add(new LogLine(DateTimeOffset.UtcNow, resource.Name, line.IsErrorMessage, line.Content));
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
        }
    }

    /// <summary>The environment the resource's process runs with, read from /proc: what DCP gave it.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentOf(string resource) =>
        ProcessTable.EnvironmentOf(Pid(resource) ?? throw new InvalidOperationException($"{resource} has no process."));

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        await _stopping.CancelAsync();
        await Application.DisposeAsync();
        _folder.Dispose();
        _stopping.Dispose();
    }
}
