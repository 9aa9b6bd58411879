using AspireKv.Client;
using AspireKv.Client.Discovery;
using AspireKv.Grpc.Server;
using AspireKv.Node.Grpc;
using AspireKv.Node.Replication;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AspireKv.Node.Hosting;

/// <summary>Registers and maps everything one replica node needs.</summary>
public static class NodeHostingExtensions
{
    public static WebApplicationBuilder AddKeyValueNode(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var nodeId = configuration[$"{NodeOptions.SectionName}:Id"] is { Length: > 0 } id ? id
            : configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } serviceName ? serviceName
            : Environment.MachineName;

        builder.Services.Configure<KeyValueLimits>(configuration.GetSection(KeyValueLimits.SectionName));
        builder.Services.Configure<ReplicaOptions>(configuration.GetSection(ReplicationSettings.SectionName));
        builder.Services.PostConfigure<ReplicaOptions>(o => o.NodeId = nodeId);
        var limits = configuration.GetSection(KeyValueLimits.SectionName).Get<KeyValueLimits>() ?? new KeyValueLimits();
        builder.Services.AddGrpcRuntime(o => o.MaxReceiveMessageSize = limits.MaxMessageBytes);

        builder.Services.AddSingleton(CreateLog(configuration));
        builder.Services.AddSingleton<Replica>();
        builder.Services.AddHostedService<ReplicaHostedService>();
        builder.Services.AddSingleton(sp => new PeerDirectory(sp.GetRequiredService<ServiceEndpoints>(), nodeId));
        builder.Services.AddSingleton<KeyValueService>();
        builder.Services.AddHealthChecks().AddCheck<ReplicaHealthCheck>("replica");
        return builder;
    }

    public static WebApplication MapKeyValueService(this WebApplication app)
    {
        app.MapGrpcService<KeyValueService>(KeyValueMethods.ServiceName, service => service
            .AddUnary(KeyValueMethods.Put, (s, request, context) => s.Put(request, context))
            .AddUnary(KeyValueMethods.Get, (s, request, context) => s.Get(request, context))
            .AddUnary(KeyValueMethods.Delete, (s, request, context) => s.Delete(request, context))
            .AddUnary(KeyValueMethods.List, (s, request, context) => s.List(request, context))
            .AddUnary(KeyValueMethods.Status, (s, request, context) => s.Status(request, context)));
        return app;
    }

    private static IReplicationLog CreateLog(IConfiguration configuration)
    {
        var settings = configuration.GetSection(ReplicationSettings.SectionName).Get<ReplicationSettings>() ?? new ReplicationSettings();
        if (string.Equals(settings.Log, "InMemory", StringComparison.OrdinalIgnoreCase))
        {
            return new InMemoryReplicationLog();
        }

        throw new InvalidOperationException(
            $"Replication:Log is '{settings.Log}'. This build replicates through InMemory only; set Replication__Log=InMemory to run one node on its own.");
    }
}

/// <summary>Starts the replica with the host and stops it (failing what is still pending) on shutdown.</summary>
internal sealed class ReplicaHostedService(Replica replica) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => replica.StartAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken) => await replica.DisposeAsync().ConfigureAwait(false);
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
