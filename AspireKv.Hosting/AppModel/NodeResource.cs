namespace AspireKv.Hosting.AppModel;

/// <summary>
/// One AspireKv node: the built AspireKv.Node, run by the orchestrator's node runner with the
/// configuration an Aspire AppHost gives a project: its Kestrel URLs, <c>ConnectionStrings__{broker}</c>
/// for the broker it references, every node's <c>services__nodeN__grpc__0</c>, and the <c>OTEL_*</c> variables.
/// </summary>
public sealed class NodeResource : Resource
{
    public NodeResource(string name)
        : base(name, "node")
    {
        Annotations.Add(new ProjectAnnotation(ResourceProjects.Node));
        Annotations.Add(new EndpointAnnotation("grpc", "http"));
        Annotations.Add(new EndpointAnnotation("http", "http"));
    }

    /// <summary>The broker this node replicates through: the one its <see cref="ReferenceAnnotation"/> names.</summary>
    public RabbitMqResource? Broker => Annotations.OfType<ReferenceAnnotation>().Select(r => r.Target).OfType<RabbitMqResource>().LastOrDefault();

    public Uri GrpcAddress => Address("grpc");

    public Uri HttpAddress => Address("http");

    public override bool CanPause => true;

    /// <summary>The environment of the node's last start, for inspection.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; internal set; } = new Dictionary<string, string?>();

    /// <summary>A node named <paramref name="name"/> declared like this one: the same annotations, but endpoints of its own.</summary>
    internal NodeResource CreateSibling(string name)
    {
        var sibling = new NodeResource(name);
        sibling.Annotations.AddRange(Annotations.Where(a => a is not (EndpointAnnotation or ProjectAnnotation)));
        return sibling;
    }

    private Uri Address(string endpoint) =>
        Endpoint(endpoint).Address ?? throw new InvalidOperationException($"{Name} has no ports yet: they are given when the application starts.");
}
