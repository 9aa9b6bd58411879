using AspireKv.Hosting.Broker;
using Microsoft.Extensions.Configuration;

namespace AspireKv.Hosting.AppModel;

/// <summary>Where the broker comes from, in the order the AppHost tries them.</summary>
public enum BrokerSource
{
    /// <summary><c>ConnectionStrings:&lt;name&gt;</c> names an existing broker; the AppHost only points at it.</summary>
    Existing,

    /// <summary>A private rabbitmq-server from the machine's packages.</summary>
    LocalServer,

    /// <summary>A RabbitMQ container, where a Docker engine answers.</summary>
    Container,
}

/// <summary>
/// The RabbitMQ broker, resource <c>messaging</c>. It comes from <c>ConnectionStrings:messaging</c>
/// when that is set, otherwise it is a private rabbitmq-server, otherwise a container where Docker
/// answers. With none of them it installs rabbitmq-server with apt (as root or through sudo without
/// a password) unless <c>--no-broker-install</c> says not to; where it cannot, it stops and says how to get one.
/// </summary>
public sealed class RabbitMqResource(string name) : Resource(name, "rabbitmq")
{
    private RabbitMqServer? _server;
    private RabbitMqContainer? _container;
    private string? _existing;

    public BrokerSource? Source { get; private set; }

    /// <summary>The broker's AMQP URI, once it has been resolved.</summary>
    public string ConnectionString => _existing ?? _server?.ConnectionString ?? _container?.ConnectionString
        ?? throw new InvalidOperationException($"{Name} has not started yet.");

    public Uri? ManagementUrl => _server?.ManagementUrl ?? _container?.ManagementUrl;

    public override bool IsManaged => Source != BrokerSource.Existing;

    public override IReadOnlyDictionary<string, Uri> Endpoints
    {
        get
        {
            var endpoints = new Dictionary<string, Uri>();
            if (_existing is not null || _server is not null || _container is not null)
            {
                var amqp = new Uri(ConnectionString);
                endpoints["amqp"] = new Uri($"{amqp.Scheme}://{amqp.Host}:{amqp.Port}");
            }

            if (ManagementUrl is { } management)
            {
                endpoints["management"] = management;
            }

            return endpoints;
        }
    }

    public override async Task StartAsync(DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        MarkStarting();
        try
        {
            await ResolveAsync(context, cancellationToken).ConfigureAwait(false);
            switch (Source)
            {
                case BrokerSource.Existing:
                    Log($"Using the existing broker at {Endpoints["amqp"]} (from ConnectionStrings:{Name}).");
                    await WaitReachableAsync(context.Configuration.GetValue("Broker:ReachTimeoutSeconds", 30), cancellationToken).ConfigureAwait(false);
                    break;
                case BrokerSource.LocalServer:
                    await _server!.StartAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
                    Pid = _server.Pid;
                    break;
                case BrokerSource.Container:
                    await _container!.StartAsync(cancellationToken).ConfigureAwait(false);
                    break;
            }

            MarkRunning();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MarkFailed(ex.Message);
            throw;
        }
    }

    public override async Task StopAsync()
    {
        if (!IsManaged || State is ResourceState.NotStarted or ResourceState.Exited)
        {
            return;
        }

        State = ResourceState.Stopping;
        if (_server is not null)
        {
            await _server.StopAsync().ConfigureAwait(false);
        }

        if (_container is not null)
        {
            await _container.StopAsync().ConfigureAwait(false);
        }

        MarkExited("stopped");
    }

    public override async Task KillAsync()
    {
        EnsureManaged();
        if (_server is not null)
        {
            await _server.KillAsync().ConfigureAwait(false);
        }

        if (_container is not null)
        {
            await _container.KillAsync().ConfigureAwait(false);
        }

        MarkExited("killed");
    }

    public override async Task<ResourceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (State != ResourceState.Running)
        {
            return ResourceHealth.Unknown;
        }

        if (_server is not null && !_server.IsRunning)
        {
            return ResourceHealth.Unhealthy;
        }

        var amqp = new Uri(ConnectionString);
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

    /// <summary>Stops the container or the server and gives its ports back; called when the application ends.</summary>
    internal async Task DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_container is not null)
        {
            await _container.RemoveAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An existing broker must accept connections within a bounded time; otherwise the AppHost
    /// fails with one message instead of starting nodes that retry for ever.
    /// </summary>
    private async Task WaitReachableAsync(int seconds, CancellationToken cancellationToken)
    {
        var amqp = new Uri(ConnectionString);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(seconds);
        string reason;
        do
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await ConnectAsync(amqp, attempt.Token).ConfigureAwait(false);
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

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
        while (DateTimeOffset.UtcNow < deadline);

        throw new InvalidOperationException(
            $"The broker at {amqp.Scheme}://{amqp.Host}:{amqp.Port} (ConnectionStrings__{Name}) cannot be reached: {reason}; tried for {seconds} s. " +
            $"Check that it runs and that the address is right, or unset ConnectionStrings__{Name} to let the AppHost run a private broker.");
    }

    /// <summary>Opens (and closes) a TCP connection to the broker's AMQP port; throws when it cannot.</summary>
    private static async Task ConnectAsync(Uri amqp, CancellationToken cancellationToken)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(amqp.Host, amqp.Port, cancellationToken).ConfigureAwait(false);
    }

    private void EnsureManaged()
    {
        if (!IsManaged)
        {
            throw new InvalidOperationException($"{Name} is an existing broker (ConnectionStrings:{Name}); the AppHost does not manage it.");
        }
    }

    private async Task ResolveAsync(DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        if (Source is not null)
        {
            return;
        }

        if (context.Configuration.GetConnectionStringValue(Name) is { Length: > 0 } existing)
        {
            _existing = existing;
            Source = BrokerSource.Existing;
            return;
        }

        if (!RabbitMqServer.IsInstalled && !RabbitMqContainer.EngineAnswers())
        {
            await InstallAsync(context, cancellationToken).ConfigureAwait(false);
        }

        if (RabbitMqServer.IsInstalled)
        {
            _server = new RabbitMqServer(Name, Path.Combine(context.StateDirectory, Name), LogOutput);
            Source = BrokerSource.LocalServer;
        }
        else
        {
            _container = new RabbitMqContainer(Name, LogOutput);
            Source = BrokerSource.Container;
        }
    }

    /// <summary>Neither rabbitmq-server nor Docker: install the package, as Aspire would pull an image, or say how to get a broker.</summary>
    private async Task InstallAsync(DistributedApplicationContext context, CancellationToken cancellationToken)
    {
        var allowed = context.Configuration.GetValue(BrokerInstaller.Setting, true);
        var facts = await BrokerInstaller.ObserveAsync(allowed, cancellationToken).ConfigureAwait(false);
        var plan = BrokerInstaller.Decide(facts);
        if (!plan.Install)
        {
            throw new InvalidOperationException(
                $"No RabbitMQ broker is available for '{Name}': rabbitmq-server is not installed, no Docker engine answers, and {plan.Reason}. Any one of these works:\n" +
                $"  - install RabbitMQ from your package manager: {BrokerInstaller.ExactCommand} (Debian, Ubuntu); the AppHost then runs a private instance of it;\n" +
                "  - start a Docker engine: the AppHost then runs RabbitMQ in a container;\n" +
                $"  - point at an existing broker: ConnectionStrings__{Name}=amqp://user:password@host:5672 dotnet run --project AspireKv.AppHost");
        }

        Log($"rabbitmq-server is not installed and no Docker engine answers: installing it with apt-get ({plan.Reason}), the way an AppHost pulls an image on first use. " +
            "Its system service stays stopped; the AppHost runs a private instance. Turn this off with --no-broker-install.");
        await BrokerInstaller.InstallAsync(Name, plan, Log, cancellationToken).ConfigureAwait(false);
        Log("rabbitmq-server is installed.");
    }
}

internal static class ConfigurationExtensions
{
    public static string? GetConnectionStringValue(this Microsoft.Extensions.Configuration.IConfiguration configuration, string name) =>
        configuration[$"ConnectionStrings:{name}"];
}
