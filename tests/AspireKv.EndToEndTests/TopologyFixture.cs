namespace AspireKv.EndToEndTests;

/// <summary>The AppHost's topology (a private broker, three nodes, a spare, and the Aspire dashboard), started once for a collection.</summary>
public sealed class TopologyFixture : IAsyncLifetime
{
    public AspireKvApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await AspireKvApp.StartAsync(["--Replicas=3"], dashboard: true);

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
