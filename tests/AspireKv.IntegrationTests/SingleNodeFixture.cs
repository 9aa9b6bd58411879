using AspireKv.Hosting;
using AspireKv.Testing;

namespace AspireKv.IntegrationTests;

/// <summary>One real node process on its own in-memory log, on free ports, removed afterwards.</summary>
public sealed class SingleNodeFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new("aspirekv-single");

    public NodeProcess Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var grpc = PortAllocator.Next();
        var spec = new NodeSpec("solo", grpc, PortAllocator.Next(), _data.Combine("solo"))
        {
            Peers = new Dictionary<string, Uri> { ["solo"] = new($"http://127.0.0.1:{grpc}") },
        };
        Node = new NodeProcess(spec, ResourceProjects.GetPath(ResourceProjects.Node, typeof(SingleNodeFixture).Assembly));
        Node.Start();
        await Node.WaitHealthyAsync(TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        _data.Dispose();
    }
}
