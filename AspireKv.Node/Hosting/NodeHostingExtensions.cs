using AspireKv.Client.Discovery;
using AspireKv.Node.Diagnostics;
using AspireKv.Node.Grpc;
using AspireKv.Node.Leases;
using AspireKv.Node.Replication;
using AspireKv.Node.Replication.RabbitMq;
using AspireKv.Node.Replication.Streams;
using AspireKv.Node.Snapshots;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RabbitMQ.Client;

namespace AspireKv.Node.Hosting;

/// <summary>Registers and maps everything one replica node needs.</summary>
public static class NodeHostingExtensions
{
    /// <summary>
    /// Registers the node. A configuration it cannot run with (no broker, a connection string that
    /// is not an AMQP URI) ends the process with the reason and exit code 1, not a stack trace.
    /// </summary>
    public static WebApplicationBuilder AddKeyValueNode(this WebApplicationBuilder builder)
    {
        try
        {
            return AddKeyValueNodeCore(builder);
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"AspireKv.Node cannot start: {ex.Message}");
            Environment.Exit(1);
            throw;
        }
    }

    /// <summary>Maps <c>aspirekv.v1.KeyValue</c>, the standard <c>grpc.health.v1.Health</c> service, and gRPC server reflection.</summary>
    public static WebApplication MapKeyValueService(this WebApplication app)
    {
        app.MapGrpcService<KeyValueService>();
        app.MapGrpcService<Etcd.EtcdKvService>();
        app.MapGrpcService<Etcd.EtcdWatchService>();
        app.MapGrpcService<Etcd.EtcdLeaseService>();
        app.MapGrpcService<Etcd.EtcdClusterService>();
        app.MapGrpcService<Etcd.EtcdMaintenanceService>();
        app.MapGrpcService<Etcd.EtcdAuthService>();
        app.MapGrpcService<PeerSnapshotService>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        return app;
    }

    private static WebApplicationBuilder AddKeyValueNodeCore(WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var node = configuration.GetSection(NodeOptions.SectionName).Get<NodeOptions>() ?? new NodeOptions();
        node.Id = node.Id is { Length: > 0 } id ? id
            : configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } serviceName ? serviceName
            : Environment.MachineName;
        node.DataPath = node.DataPath is { Length: > 0 } path
            ? Path.GetFullPath(path)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "aspirekv", node.Id);
        var replication = configuration.GetSection(ReplicationOptions.SectionName).Get<ReplicationOptions>() ?? new ReplicationOptions();
        var limits = configuration.GetSection(KeyValueLimits.SectionName).Get<KeyValueLimits>() ?? new KeyValueLimits();
        builder.Services.AddSingleton(Options.Create(node));
        builder.Services.AddSingleton(Options.Create(replication));
        builder.Services.AddSingleton(Options.Create(limits));

        AddGrpc(builder, limits);
        AddReplica(builder, node, replication);
        builder.Services.AddSingleton(sp => new PeerDirectory(ConfiguredServices.List(sp.GetRequiredService<IConfiguration>()), node.Id));
        builder.Services.AddHealthChecks().AddCheck<ReplicaHealthCheck>(GrpcHealthPublisher.ReadinessCheck);
        return builder;
    }

    private static void AddGrpc(WebApplicationBuilder builder, KeyValueLimits limits)
    {
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = limits.MaxMessageBytes;
            o.Interceptors.Add<StatusMappingInterceptor>();

            // A request that cannot even be read (not a protobuf message of the method's type) fails
            // before any handler runs; the client then learns why instead of a bare UNKNOWN.
            o.EnableDetailedErrors = true;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton(_ =>
        {
            var health = new HealthServiceImpl();
            foreach (var service in GrpcHealthPublisher.Services)
            {
                health.SetStatus(service, HealthCheckResponse.Types.ServingStatus.NotServing);
            }

            return health;
        });
        builder.Services.AddSingleton<IHealthCheckPublisher, GrpcHealthPublisher>();
        builder.Services.AddSingleton<Etcd.EtcdIdentity>();
        builder.Services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.Zero;
            o.Period = TimeSpan.FromSeconds(1);
        });

        // The broker client's publish spans nest under each write's publish span. Its spans for each
        // delivery from the stream are left out: they would start a trace per entry, and the
        // aspirekv.apply spans stand for that work inside each write's own trace.
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(NodeDiagnostics.SourceName, "RabbitMQ.Client.Publisher"));
        builder.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddMeter(NodeDiagnostics.SourceName, "RabbitMQ.Client.*"));
    }

    private static void AddReplica(WebApplicationBuilder builder, NodeOptions node, ReplicationOptions replication)
    {
        var log = replication.Log.ToLowerInvariant() switch
        {
            "stream" => "Stream",
            "amqp" or "rabbitmq" => "Amqp",
            "inmemory" => "InMemory",
            _ => throw new InvalidOperationException(
                $"Replication:Log '{replication.Log}' is not a log this node has: use Amqp (AMQP 0.9.1, the default), Stream (RabbitMQ's stream protocol, which needs the rabbitmq_stream plugin) or InMemory (one node on its own, keeping nothing)."),
        };
        var inMemory = log == "InMemory";
        var connectionName = replication.ConnectionName;
        var connectionString = builder.Configuration.GetConnectionString(connectionName);
        if (inMemory)
        {
            builder.Services.AddSingleton<IReplicationLog, InMemoryReplicationLog>();
        }
        else if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"No broker is configured. Set ConnectionStrings__{connectionName}=amqp://user:password@host:port (as an AppHost does), " +
                "or run one node on its own, keeping nothing, with Replication__Log=InMemory.");
        }
        else if (log == "Stream")
        {
            var brokers = BrokerAddresses.Parse(connectionString, connectionName).StreamEndpoints(replication.StreamEndpoints);
            builder.Services.AddSingleton<IReplicationLog>(sp => new StreamReplicationLog(brokers, replication, node.Id!, sp.GetRequiredService<ILogger<StreamReplicationLog>>()));
        }
        else
        {
            var brokers = BrokerAddresses.Parse(connectionString, connectionName);

            // Aspire.RabbitMQ.Client gives the connection factory (with its Aspire:RabbitMQ:Client
            // settings) and forwards the client's own event log. The log keeps its own connection
            // lifecycle, so no IConnection is opened for it; the node's health check reports the
            // log's state, and the publish spans are added with the node's tracing above.
            builder.AddRabbitMQClient(connectionName, settings =>
            {
                settings.ConnectionString = brokers.First.ToString();
                settings.DisableAutoActivation = true;
                settings.DisableHealthChecks = true;
                settings.DisableTracing = true;
            }, factory => RabbitMqReplicationLog.ConfigureFactory(factory, replication, node.Id!));
            builder.Services.AddSingleton<IReplicationLog>(sp => new RabbitMqReplicationLog(
                brokers, (ConnectionFactory)sp.GetRequiredService<IConnectionFactory>(), replication, node.Id!, sp.GetRequiredService<ILogger<RabbitMqReplicationLog>>()));
        }

        // A snapshot only makes sense next to a durable log; the in-memory log starts empty every time.
        var snapshots = inMemory ? null : new SnapshotStore(node.DataPath!);
        if (snapshots is not null)
        {
            builder.Services.AddSingleton(snapshots);
        }
        builder.Services.AddSingleton(sp => new Replica(
            sp.GetRequiredService<IReplicationLog>(),
            replication,
            node.Id!,
            sp.GetRequiredService<ILoggerFactory>(),
            snapshots is null ? null : SnapshotLoader.Load(snapshots, sp.GetRequiredService<ILogger<SnapshotStore>>()),
            stateSource: snapshots is null ? null : new PeerSnapshotFetcher(
                ConfiguredServices.List(sp.GetRequiredService<IConfiguration>()), snapshots, node.Id!, sp.GetRequiredService<ILogger<PeerSnapshotFetcher>>())));
        builder.Services.AddSingleton<Auth.AuthGate>();
        builder.Services.AddHostedService(sp => new ReplicaHostedService(
            sp.GetRequiredService<Replica>(),
            sp.GetRequiredService<IReplicationLog>(),
            new LeaseKeeper(sp.GetRequiredService<Replica>(), sp.GetRequiredService<ILogger<LeaseKeeper>>()),
            snapshots is null ? null : new SnapshotScheduler(sp.GetRequiredService<Replica>(), snapshots, node.SnapshotInterval, sp.GetRequiredService<ILogger<SnapshotScheduler>>())));
    }
}

/// <summary>
/// Starts the replica with the host and writes a snapshot now and then while it runs; on
/// shutdown stops it (failing what is still pending) and writes a last snapshot.
/// </summary>
internal sealed class ReplicaHostedService(Replica replica, IReplicationLog log, LeaseKeeper leases, SnapshotScheduler? snapshots) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _snapshotLoop = Task.CompletedTask;
    private Task _leaseLoop = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await replica.StartAsync(cancellationToken).ConfigureAwait(false);
        NodeDiagnostics.Observe(replica, log);
        _leaseLoop = Task.Run(() => leases.RunAsync(_stopping.Token), CancellationToken.None);
        if (snapshots is not null)
        {
            _snapshotLoop = Task.Run(() => snapshots.RunAsync(_stopping.Token), CancellationToken.None);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_snapshotLoop, _leaseLoop).ConfigureAwait(false);
        await replica.DisposeAsync().ConfigureAwait(false);
        snapshots?.TrySave();
    }
}

/// <summary>Healthy when serving, degraded when only serializable reads work, unhealthy otherwise.</summary>
internal sealed class ReplicaHealthCheck(Replica replica) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var report = replica.Health;
        return Task.FromResult(report.Health switch
        {
            ReplicaHealth.Serving => HealthCheckResult.Healthy($"node {replica.NodeId} is serving"),
            ReplicaHealth.Degraded => HealthCheckResult.Degraded(report.Detail),
            _ => HealthCheckResult.Unhealthy(report.Detail),
        });
    }
}
