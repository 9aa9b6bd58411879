namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// An AspireKv cluster: its replica nodes (project resources <c>{prefix}1</c>…) and spare nodes,
/// started only on request, each a child of it. A resource that references it reaches every replica
/// through service discovery (<c>services__{name}__grpc__N</c>) and each node by name.
/// </summary>
public sealed class KeyValueStoreResource(string name, string nodeNamePrefix) : Resource(name)
{
    private readonly List<IResourceBuilder<ProjectResource>> _nodes = [];

    /// <summary>What the nodes are called: <c>node</c> gives node1, node2…</summary>
    public string NodeNamePrefix { get; } = nodeNamePrefix;

    /// <summary>How many nodes run from the start.</summary>
    public int Replicas { get; internal set; }

    /// <summary>How many more nodes are declared but start only when asked (a join).</summary>
    public int Spares { get; internal set; }

    /// <summary>Every node, the replicas first, then the spares.</summary>
    public IReadOnlyList<ProjectResource> Nodes => [.. _nodes.Select(n => n.Resource)];

    /// <summary>The nodes that run from the start.</summary>
    public IEnumerable<ProjectResource> ReplicaNodes => Nodes.Take(Replicas);

    /// <summary>Every node's latest snapshot (state and health), by node name, as the store follows them.</summary>
    internal System.Collections.Concurrent.ConcurrentDictionary<string, CustomResourceSnapshot> NodeStates { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The ports each node keeps while the AppHost runs, by node name.</summary>
    internal Dictionary<string, (int Grpc, int Http)> Ports { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>What the declaration said of every node, replayed on nodes declared later.</summary>
    internal List<Action<IResourceBuilder<ProjectResource>>> Conventions { get; } = [];

    internal List<IResourceBuilder<ProjectResource>> NodeBuilders => _nodes;

    /// <summary>The gRPC address of <paramref name="node"/>.</summary>
    public Uri GrpcAddress(string node) => new($"http://127.0.0.1:{Ports[node].Grpc}");

    /// <summary>The address of <paramref name="node"/>'s HTTP endpoint: health, and the Replication and Keys pages.</summary>
    public Uri HttpAddress(string node) => new($"http://127.0.0.1:{Ports[node].Http}");
}
