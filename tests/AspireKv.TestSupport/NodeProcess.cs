using System.Net;
using AspireKv.Client;

namespace AspireKv.Testing;

/// <summary>How to start one node: its name, ports, data folder, broker and peers.</summary>
public sealed record NodeSpec(string Name, int GrpcPort, int HttpPort, string DataPath)
{
    /// <summary><c>amqp://user:pass@host:port</c> (a cluster's: several, comma-separated); null means the node runs on its in-memory log alone.</summary>
    public string? BrokerConnectionString { get; init; }

    /// <summary>The brokers' stream ports (<c>host:port</c>, comma-separated) for the stream log; null leaves them to the node's default (port 5552 of each broker).</summary>
    public string? BrokerStreamEndpoints { get; init; }

    /// <summary>The broker resource's name: the node gets <c>ConnectionStrings__{name}</c>, and is told to read that one.</summary>
    public string BrokerConnectionName { get; init; } = "messaging";

    /// <summary>Every node's gRPC address by name, this one included, for service discovery.</summary>
    public IReadOnlyDictionary<string, Uri> Peers { get; init; } = new Dictionary<string, Uri>();

    /// <summary>More environment, applied last (a null value removes a variable).</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public Uri GrpcAddress => new($"http://127.0.0.1:{GrpcPort}");

    public Uri HttpAddress => new($"http://127.0.0.1:{HttpPort}");
}

/// <summary>
/// One node process, started from the built AspireKv.Node with the configuration contract an
/// Aspire AppHost would give it. It can be started again after it stopped or was killed, on the
/// same ports and data folder.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly string _assemblyPath;
    private readonly Action<LogLine>? _output;

    public NodeProcess(NodeSpec spec, string assemblyPath, Action<LogLine>? output = null)
    {
        Spec = spec;
        _assemblyPath = assemblyPath;
        _output = output;
    }

    public NodeSpec Spec { get; }

    public string Name => Spec.Name;

    public ManagedProcess? Process { get; private set; }

    public bool IsRunning => Process is { HasExited: false };

    /// <summary>The environment of the node: Aspire's contract plus the node's own settings.</summary>
    public IReadOnlyDictionary<string, string?> BuildEnvironment()
    {
        var environment = new Dictionary<string, string?>
        {
            ["OTEL_SERVICE_NAME"] = Spec.Name,

            // As an Aspire AppHost does: its environment flows to its projects (Development when run from source).
            ["DOTNET_ENVIRONMENT"] = System.Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") is { Length: > 0 } hostEnvironment ? hostEnvironment : "Development",
            ["Kestrel__Endpoints__grpc__Url"] = Spec.GrpcAddress.ToString().TrimEnd('/'),
            ["Kestrel__Endpoints__http__Url"] = Spec.HttpAddress.ToString().TrimEnd('/'),
            ["Node__DataPath"] = Spec.DataPath,
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["ASPNETCORE_URLS"] = null,
            ["HTTP_PORTS"] = null,
            ["HTTPS_PORTS"] = null,
        };
        if (Spec.BrokerConnectionString is { } broker)
        {
            environment[$"ConnectionStrings__{Spec.BrokerConnectionName}"] = broker;
            environment["Replication__ConnectionName"] = Spec.BrokerConnectionName;
            environment["Replication__StreamEndpoints"] = Spec.BrokerStreamEndpoints;
        }
        else
        {
            environment["Replication__Log"] = "InMemory";
        }

        foreach (var (name, address) in Spec.Peers)
        {
            environment[$"services__{name}__grpc__0"] = address.ToString().TrimEnd('/');
        }

        foreach (var (key, value) in Spec.Environment)
        {
            environment[key] = value;
        }

        return environment;
    }

    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is already running (pid {Process!.Pid}).");
        }

        Directory.CreateDirectory(Spec.DataPath);
        Process = ManagedProcess.Start(DotNetHost.Run(Name, _assemblyPath, [], BuildEnvironment()), _output);
    }

    /// <summary>Waits until <c>/health</c> answers Healthy; throws with the node's last output if it exits or time runs out.</summary>
    public Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        HealthProbe.WaitAsync(Name, new Uri(Spec.HttpAddress, "/health"), Process, timeout, cancellationToken);

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (Process is { } process)
        {
            await process.StopAsync(grace ?? TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
    }

    /// <summary>SIGKILL, and waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (Process is { } process)
        {
            process.Kill();
            await process.Exited.ConfigureAwait(false);
        }
    }

    public KvClient CreateClient(KvClientOptions? options = null) => new(Spec.GrpcAddress.ToString(), options);

    public async ValueTask DisposeAsync()
    {
        if (Process is { } process)
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Polls a health endpoint until it answers Healthy.</summary>
public static class HealthProbe
{
    /// <summary>An HTTP/1.1 client for health endpoints on loopback.</summary>
    public static HttpClient Client { get; } = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };

    public static async Task WaitAsync(string name, Uri health, ManagedProcess? process, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var last = "no answer yet";
        while (true)
        {
            if (process is { HasExited: true })
            {
                throw new InvalidOperationException($"{name} exited with code {process.Exited.Result} before it was healthy.{Tail(process)}");
            }

            try
            {
                using var response = await Client.GetAsync(health, deadline.Token).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK && body.StartsWith("Healthy", StringComparison.Ordinal))
                {
                    return;
                }

                last = $"{(int)response.StatusCode}: {body.Trim()}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new TimeoutException($"{name} was not healthy within {timeout.TotalSeconds:F0} s; the last answer from {health} was: {last}.{Tail(process)}");
            }

            try
            {
                await Task.Delay(200, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{name} was not healthy within {timeout.TotalSeconds:F0} s; the last answer from {health} was: {last}.{Tail(process)}");
            }
        }
    }

    private static string Tail(ManagedProcess? process) => process is null
        ? string.Empty
        : "\nIts last output:\n" + string.Join('\n', process.RecentOutput.TakeLast(40).Select(l => "  " + l.Text));
}
