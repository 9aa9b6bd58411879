using Aspire.Hosting.ApplicationModel;
using AspireKv.Client.Discovery;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AspireKv.Hosting.AppHost;

/// <summary>
/// Beside Aspire's own work: keeps <c>.aspirekv/endpoints.json</c> up to date from the resources'
/// endpoints and states (for the CLI), says once all is healthy that AspireKv is ready, and on stop
/// removes the file and lets go of the folder's locks.
/// </summary>
internal sealed class AppHostFolderService(
    AppHostFolder folder,
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    IConfiguration configuration,
    IHostApplicationLifetime lifetime,
    ILogger<AppHostFolderService> logger) : BackgroundService
{
    private const string DashboardResource = "aspire-dashboard";
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CustomResourceSnapshot> _states = new(StringComparer.OrdinalIgnoreCase); // by name: notifications are keyed by instance
    private string? _written;
    private volatile bool _started;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var watch = WatchAsync(stoppingToken);
            await WaitForStartAsync(stoppingToken).ConfigureAwait(false);
            _started = true;
            await WriteAsync(stoppingToken).ConfigureAwait(false);
            await Task.WhenAll(watch, ReportReadyAsync(stoppingToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Every resource's state by name (the watch begins with the current ones), and the file rewritten on each change once the application runs.</summary>
    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        await foreach (var change in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
        {
            _states[change.Resource.Name] = change.Snapshot;
            if (_started)
            {
                await WriteAsync(stoppingToken).ConfigureAwait(false);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_written is not null)
        {
            try
            {
                File.Delete(folder.EndpointsFile);
            }
            catch (IOException)
            {
            }
        }

        folder.ReleaseLocks();
        logger.LogInformation("AspireKv stopped.");
    }

    private async Task WaitForStartAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
    }

    /// <summary>Once every resource that should be is healthy: the table of resources, the dashboard's link, and the line scripts wait for.</summary>
    private async Task ReportReadyAsync(CancellationToken stoppingToken)
    {
        await Task.WhenAll(folder.ReadyWhenHealthy.Select(r => notifications.WaitForResourceHealthyAsync(r.Name, WaitBehavior.WaitOnResourceUnavailable, stoppingToken))).ConfigureAwait(false);
        var file = await DescribeAsync(stoppingToken).ConfigureAwait(false);
        var (name, type) = (Math.Max(8, file.Resources.Keys.Max(n => n.Length)) + 2, Math.Max(4, file.Resources.Values.Max(r => r.Type.Length)) + 2);
        string Row(string a, string b, string c) => $"{a.PadRight(name)}{b.PadRight(type)}{c}";
        var lines = new List<string> { Row("Resource", "Type", "Endpoints"), Row(new string('-', name - 2), new string('-', type - 2), "---------") };
        lines.AddRange(file.Resources.Select(r => Row(r.Key, r.Value.Type, string.Join("  ", r.Value.Endpoints.Select(e => $"{e.Key}: {e.Value}")))));
        var node = file.Resources.Where(r => r.Value.Type == "node").Select(r => r.Key).Skip(1).FirstOrDefault() ?? "node1";
        lines.Add(string.Empty);
        lines.Add($"Endpoints are also in {folder.EndpointsFile}; the aspirekv CLI reads them from there (try: aspirekv --target {node} status).");
        if (file.Dashboard is { } dashboard && configuration["AppHost:BrowserToken"] is { Length: > 0 } token)
        {
            lines.Add($"Dashboard: {dashboard.TrimEnd('/')}/login?t={token}");
        }

        lines.Add("AspireKv is ready. Press Ctrl+C to stop.");
        logger.LogInformation("{Summary}", string.Join('\n', lines));
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var file = await DescribeAsync(cancellationToken).ConfigureAwait(false);
            var text = System.Text.Json.JsonSerializer.Serialize(file.Resources) + file.Dashboard + file.Otlp;
            if (text != _written)
            {
                file.Save(folder.EndpointsFile);
                _written = text;
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>The endpoints file as things are now: every published resource with its endpoints, less nodes not started or gone.</summary>
    private async Task<EndpointsFile> DescribeAsync(CancellationToken cancellationToken)
    {
        var file = new EndpointsFile { AppHostPid = Environment.ProcessId, StartedAt = DateTimeOffset.UtcNow };
        foreach (var (resource, type) in folder.Published)
        {
            if (type == "node" && (folder.Left.Contains(resource.Name) || State(resource) is null or "NotStarted"))
            {
                continue;
            }

            var entry = new EndpointsFile.ResourceEntry { Type = type };
            foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>())
            {
                if (endpoint.AllocatedEndpoint is { } allocated)
                {
                    entry.Endpoints[endpoint.Name == "tcp" ? "amqp" : endpoint.Name] = allocated.UriString;
                }
            }

            if (resource is IResourceWithConnectionString broker)
            {
                entry.ConnectionString = await broker.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false);
            }

            file.Resources[resource.Name] = entry;
        }

        if (model.Resources.FirstOrDefault(r => r.Name == DashboardResource) is { } dashboard)
        {
            var endpoints = dashboard.Annotations.OfType<EndpointAnnotation>().Where(e => e.AllocatedEndpoint is not null).ToDictionary(e => e.Name, e => e.AllocatedEndpoint!.UriString);
            file.Dashboard = endpoints.GetValueOrDefault("https") ?? endpoints.GetValueOrDefault("http");
            if (endpoints.GetValueOrDefault("otlp-http") is { } http)
            {
                file.Otlp = http;
            }
            else if (endpoints.GetValueOrDefault("otlp-grpc") is { } grpc)
            {
                file.Otlp = grpc;
                file.OtlpProtocol = "grpc";
            }

            file.OtlpHeaders = configuration["AppHost:OtlpApiKey"] is { Length: > 0 } key ? $"x-otlp-api-key={key}" : null;
        }

        return file;
    }

    private string? State(IResource resource) => _states.GetValueOrDefault(resource.Name)?.State?.Text;
}
