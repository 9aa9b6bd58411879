using AspireKv.Hosting.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>The AppHost's topology (a private broker, three nodes and the dashboard), started once for a collection.</summary>
public sealed class TopologyFixture : IAsyncLifetime
{
    public TestingApplication App { get; private set; } = null!;

    public async Task InitializeAsync() =>
        App = await DistributedApplicationTestingBuilder.StartAsync<Program>(
            ["--replicas", "3"],
            new Dictionary<string, string?> { ["Dashboard:Enabled"] = "true", ["Dashboard:Port"] = "0" });

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TopologyCollection : ICollectionFixture<TopologyFixture>
{
    public const string Name = "topology";
}
