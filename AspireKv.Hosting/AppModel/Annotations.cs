namespace AspireKv.Hosting.AppModel;

/// <summary>
/// A fact declared about a resource, as .NET Aspire's annotations are: what it references, what it
/// waits for, its endpoints, its environment. The orchestrator reads them when it runs the resource.
/// </summary>
public interface IResourceAnnotation;

/// <summary>
/// A named endpoint of a resource (<c>grpc</c>, <c>amqp</c>). Its address is given when the
/// application starts: a free port for a node, the broker's own ports once it is resolved.
/// </summary>
public sealed class EndpointAnnotation(string name, string scheme) : IResourceAnnotation
{
    public string Name { get; } = name;

    /// <summary>The URI scheme the endpoint speaks: <c>http</c> (gRPC over HTTP/2 too) or <c>amqp</c>.</summary>
    public string Scheme { get; } = scheme;

    /// <summary>Where the endpoint listens, once the orchestrator has allocated it; null before.</summary>
    public Uri? Address { get; internal set; }
}

/// <summary>An environment variable the resource's process gets; a null value removes it.</summary>
public sealed record EnvironmentAnnotation(string Name, string? Value) : IResourceAnnotation;

/// <summary>
/// <c>WithReference(target)</c>: the resource gets <c>ConnectionStrings__{target.Name}</c>, and
/// starts once the target has resolved its connection string (not once it is healthy).
/// </summary>
public sealed record ReferenceAnnotation(Resource Target) : IResourceAnnotation;

/// <summary><c>WaitFor(target)</c>: the resource starts only once the target runs and is healthy.</summary>
public sealed record WaitAnnotation(Resource Target) : IResourceAnnotation;

/// <summary><c>WithClusterSize(n)</c>: the broker runs as a RabbitMQ cluster of <see cref="Brokers"/> brokers.</summary>
public sealed record ClusterSizeAnnotation(int Brokers) : IResourceAnnotation;

/// <summary>A relation to another resource; <c>Parent</c> shows a cluster's broker under the cluster.</summary>
public sealed record RelationshipAnnotation(Resource Target, string Type) : IResourceAnnotation;

/// <summary>The project whose build output the resource runs (by assembly name).</summary>
public sealed record ProjectAnnotation(string AssemblyName) : IResourceAnnotation;
