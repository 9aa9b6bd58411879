using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using AspireKv.Hosting.AppHost;

namespace AspireKv.Hosting.RabbitMQ;

/// <summary>
/// A cluster has no process of its own: its state follows its brokers', its health is the AMQP
/// check of every broker (degraded with a majority), and each broker is started and stopped on its own.
/// </summary>
internal static class BrokerClusterLifecycle
{
    public static void Attach(IResourceBuilder<RabbitMQClusterResource> cluster) =>
        cluster.WithHealthCheck(ResourceHealthChecks.Register(cluster.ApplicationBuilder, $"{cluster.Resource.Name}_amqp", () => new AmqpHealthCheck(cluster.Resource)))
            .OnInitializeResource((cluster, e, cancellationToken) => ParentState.FollowAsync(cluster, cluster.Brokers, "rabbitmq.brokers", e, cancellationToken));
}
