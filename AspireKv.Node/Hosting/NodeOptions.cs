namespace AspireKv.Node.Hosting;

/// <summary>Who this node is and where it keeps its data, from the <c>Node</c> configuration section.</summary>
public sealed class NodeOptions
{
    public const string SectionName = "Node";

    /// <summary>The node id; defaults to <c>OTEL_SERVICE_NAME</c> (the resource name an AppHost gives), then the machine name.</summary>
    public string? Id { get; set; }

    /// <summary>Where the node keeps its snapshot; defaults to <c>~/.local/share/aspirekv/&lt;node id&gt;</c>.</summary>
    public string? DataPath { get; set; }

    /// <summary>How often the node writes a snapshot when it has applied something new (the first after one to two intervals; never more often than ten times the last snapshot's duration).</summary>
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromSeconds(10);
}
