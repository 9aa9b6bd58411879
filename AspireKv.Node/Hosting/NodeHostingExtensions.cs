using AspireKv.Client.Discovery;
using AspireKv.Node.Diagnostics;
using AspireKv.Node.Grpc;
using AspireKv.Node.Replication;
using AspireKv.Node.Replication.RabbitMq;
using AspireKv.Node.Snapshots;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

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

    private static WebApplicationBuilder AddKeyValueNodeCore(WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var nodeId = configuration[$"{NodeOptions.SectionName}:Id"] is { Length: > 0 } id ? id
            : configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } serviceName ? serviceName
            : Environment.MachineName;

        builder.Services.Configure<KeyValueLimits>(configuration.GetSection(KeyValueLimits.SectionName));
        builder.Services.Configure<ReplicaOptions>(configuration.GetSection(ReplicationSettings.SectionName));
        builder.Services.PostConfigure<ReplicaOptions>(o => o.NodeId = nodeId);
        var limits = configuration.GetSection(KeyValueLimits.SectionName).Get<KeyValueLimits>() ?? new KeyValueLimits();
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

        builder.Services.Configure<NodeOptions>(configuration.GetSection(NodeOptions.SectionName));
        builder.Services.Configure<RabbitMqLogOptions>(configuration.GetSection(ReplicationSettings.SectionName));
        var settings = configuration.GetSection(ReplicationSettings.SectionName).Get<ReplicationSettings>() ?? new ReplicationSettings();
        var inMemory = string.Equals(settings.Log, "InMemory", StringComparison.OrdinalIgnoreCase);
        var connectionString = configuration.GetConnectionString("messaging");
        if (inMemory)
        {
            builder.Services.AddSingleton<IReplicationLog, InMemoryReplicationLog>();
        }
        else if (!string.IsNullOrWhiteSpace(connectionString))
        {
            RabbitMqReplicationLog.ParseConnectionString(connectionString);
            builder.Services.AddSingleton<IReplicationLog>(sp => ActivatorUtilities.CreateInstance<RabbitMqReplicationLog>(sp, connectionString));
        }
        else
        {
            throw new InvalidOperationException(
                "No broker is configured. Set ConnectionStrings__messaging=amqp://user:password@host:port (as an AppHost does), " +
                "or run one node on its own, keeping nothing, with Replication__Log=InMemory.");
        }

        // A snapshot only makes sense next to a durable log; the in-memory log starts empty every time.
        var dataPath = configuration[$"{NodeOptions.SectionName}:DataPath"] is { Length: > 0 } path
            ? Path.GetFullPath(path)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "aspirekv", nodeId);
        builder.Services.AddSingleton(new SnapshotStore(dataPath));
        builder.Services.AddSingleton(sp => new Replica(
            sp.GetRequiredService<IReplicationLog>(),
            sp.GetRequiredService<IOptions<ReplicaOptions>>(),
            sp.GetRequiredService<ILogger<Replica>>(),
            inMemory ? null : LoadSnapshot(sp.GetRequiredService<SnapshotStore>(), sp.GetRequiredService<ILogger<SnapshotStore>>())));
        builder.Services.AddHostedService(sp => new ReplicaHostedService(
            sp.GetRequiredService<Replica>(),
            sp.GetRequiredService<IReplicationLog>(),
            inMemory ? null : sp.GetRequiredService<SnapshotStore>(),
            sp.GetRequiredService<IOptions<NodeOptions>>(),
            sp.GetRequiredService<ILogger<ReplicaHostedService>>()));
        builder.Services.AddSingleton(sp => new PeerDirectory(ConfiguredServices.List(sp.GetRequiredService<IConfiguration>()), nodeId));
        builder.Services.AddHealthChecks().AddCheck<ReplicaHealthCheck>(GrpcHealthPublisher.ReadinessCheck);
        return builder;
    }

    /// <summary>Maps <c>aspirekv.v1.KeyValue</c>, the standard <c>grpc.health.v1.Health</c> service, and gRPC server reflection.</summary>
    public static WebApplication MapKeyValueService(this WebApplication app)
    {
        app.MapGrpcService<KeyValueService>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        return app;
    }

    private static KvStateMachine? LoadSnapshot(SnapshotStore store, ILogger logger)
    {
        try
        {
            var capture = store.Load();
            if (capture is null)
            {
                logger.LogInformation("No snapshot at {Path}; replaying the log from its start.", store.Path);
                return null;
            }

            logger.LogInformation(
                "Loaded the snapshot at {Path}: revision {Revision}, {Keys} keys, resuming after log offset {Offset}.",
                store.Path, capture.Revision, capture.Records.Count, capture.AppliedOffset);
            return KvStateMachine.Restore(capture);
        }
        catch (Exception ex) when (ex is InvalidDataException or InvalidProtocolBufferException or IOException)
        {
            var aside = store.Path + ".damaged";
            File.Move(store.Path, aside, overwrite: true);
            logger.LogError("The snapshot at {Path} cannot be used ({Error}); it was moved to {Aside} and the log is replayed from its start.", store.Path, ex.Message, aside);
            return null;
        }
    }
}

/// <summary>
/// Starts the replica with the host, writes a snapshot now and then while it runs, and on
/// shutdown stops it (failing what is still pending) and writes a last snapshot.
/// </summary>
internal sealed class ReplicaHostedService(
    Replica replica, IReplicationLog log, SnapshotStore? snapshots, IOptions<NodeOptions> options, ILogger<ReplicaHostedService> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _snapshotLoop = Task.CompletedTask;
    private long _snapshotOffset = long.MinValue;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await replica.StartAsync(cancellationToken).ConfigureAwait(false);
        NodeDiagnostics.Observe(replica, log);
        if (snapshots is not null)
        {
            _snapshotOffset = replica.Inspect(s => s.AppliedOffset);
            _snapshotLoop = Task.Run(() => SnapshotLoopAsync(_stopping.Token), CancellationToken.None);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _snapshotLoop.ConfigureAwait(false);
        await replica.DisposeAsync().ConfigureAwait(false);
        TrySnapshot();
    }

    private async Task SnapshotLoopAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(options.Value.SnapshotInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                TrySnapshot();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void TrySnapshot()
    {
        if (snapshots is null || replica.Health.Health == ReplicaHealth.NotServing)
        {
            return;
        }

        try
        {
            var capture = replica.Inspect(s => s.Capture());
            if (capture.AppliedOffset == _snapshotOffset)
            {
                return;
            }

            snapshots.Save(capture, replica.NodeId);
            _snapshotOffset = capture.AppliedOffset;
            logger.LogDebug("Wrote a snapshot at log offset {Offset} (revision {Revision}).", capture.AppliedOffset, capture.Revision);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            logger.LogError(ex, "Could not write a snapshot to {Path}.", snapshots.Path);
        }
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
