using AspireKv.V1;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AspireKv.Node.Grpc;

/// <summary>
/// Feeds the standard <c>grpc.health.v1.Health</c> service (Grpc.HealthCheck's
/// <see cref="HealthServiceImpl"/>, which also serves Watch) from the node's health checks. A node
/// is SERVING, for the whole server (<c>""</c>) and for <c>aspirekv.v1.KeyValue</c>, only while its
/// readiness check is Healthy: a degraded node (broker lost) serves serializable reads but no
/// writes, so a load balancer or Kubernetes probe should send traffic elsewhere.
/// </summary>
public sealed class GrpcHealthPublisher(HealthServiceImpl health) : IHealthCheckPublisher
{
    /// <summary>The name of the health check that says whether the node serves reads and writes.</summary>
    public const string ReadinessCheck = "replica";

    /// <summary>The service names the health service answers for.</summary>
    public static readonly string[] Services = [string.Empty, KeyValue.Descriptor.FullName];

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        var serving = report.Entries.TryGetValue(ReadinessCheck, out var entry) && entry.Status == HealthStatus.Healthy;
        foreach (var service in Services)
        {
            health.SetStatus(service, serving ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing);
        }

        return Task.CompletedTask;
    }
}
