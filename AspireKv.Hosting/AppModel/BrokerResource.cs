namespace AspireKv.Hosting.AppModel;

/// <summary>
/// One broker of a RabbitMQ cluster, shown as a child of the cluster's resource (<c>messaging-2</c>
/// under <c>messaging</c>), as Aspire shows a resource's replicas. It can be stopped, killed and
/// started on its own, which is how a test or a user takes one broker of the cluster away. The
/// cluster's first start starts (and joins) them all.
/// </summary>
public sealed class BrokerResource : Resource
{
    internal BrokerResource(RabbitMqResource cluster, int index)
        : base($"{cluster.Name}-{index + 1}", "rabbitmq-broker")
    {
        Cluster = cluster;
        Index = index;
        Annotations.Add(new RelationshipAnnotation(cluster, "Parent"));
        Annotations.Add(new WaitAnnotation(cluster));
        Annotations.Add(new EndpointAnnotation("amqp", "amqp"));
        Annotations.Add(new EndpointAnnotation("management", "http"));
    }

    /// <summary>The cluster this broker belongs to.</summary>
    public RabbitMqResource Cluster { get; }

    /// <summary>Which of the cluster's brokers it is, from 0.</summary>
    public int Index { get; }

    /// <summary>The broker's Erlang node name (<c>rabbit@...</c>), as the cluster knows it, once the cluster has been created.</summary>
    public string? NodeName { get; internal set; }

    /// <summary>The broker's own AMQP URI.</summary>
    public string ConnectionString => ResolvedConnectionString ?? throw new InvalidOperationException($"{Name} has not started yet.");

    internal string? ResolvedConnectionString { get; set; }
}
