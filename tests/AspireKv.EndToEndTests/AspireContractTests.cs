using Aspire.Hosting.Testing;
using AspireKv.Client;
using AspireKv.Hosting;
using AspireKv.Testing;
using AspireKv.V1;
using Microsoft.Extensions.DependencyInjection;

namespace AspireKv.EndToEndTests;

/// <summary>
/// A node started with exactly the environment a .NET Aspire 13 AppHost gives a project resource
/// joins the cluster and serves: the node runs unchanged under a real Aspire AppHost.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class AspireContractTests(TopologyFixture fixture)
{
    [Fact]
    public async Task Node_started_with_the_environment_of_an_Aspire_13_AppHost_joins_the_cluster_and_serves()
    {
        var app = fixture.App;
        using var home = new TempDirectory("aspirekv-aspire-contract");
        var broker = new Uri((await app.Application.GetConnectionStringAsync("messaging"))!);
        int grpcPort = AspireKv.Hosting.PortAllocator.Next(), httpPort = AspireKv.Hosting.PortAllocator.Next();

        // What Aspire 13 hands a project that references the broker and the other nodes: the
        // connection string (user guest, no vhost segment, host localhost), service discovery
        // entries, the Kestrel endpoint overrides and the OTEL_* settings.
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__messaging"] = $"amqp://guest:{broker.UserInfo.Split(':')[1]}@localhost:{broker.Port}",
            ["Replication__StreamEndpoints"] = $"localhost:{StreamPort(app)}",
            ["OTEL_SERVICE_NAME"] = "node4",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "service.instance.id=node4-contract",
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES"] = "true",
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES"] = "true",
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory",
            ["ASPNETCORE_FORWARDEDHEADERS_ENABLED"] = "true",
            ["Kestrel__Endpoints__grpc__Url"] = $"http://*:{grpcPort}",
            ["Kestrel__Endpoints__http__Url"] = $"http://*:{httpPort}",
            ["services__node4__grpc__0"] = $"http://localhost:{grpcPort}",
            ["services__node4__http__0"] = $"http://localhost:{httpPort}",

            // The machine's, not Aspire's: where the node's default data folder goes.
            ["XDG_DATA_HOME"] = home.Path,
        };
        foreach (var name in new[] { "node1", "node2", "node3" })
        {
            environment[$"services__{name}__grpc__0"] = $"http://localhost:{app.GetEndpoint(name).Port}";
            environment[$"services__{name}__http__0"] = $"http://localhost:{app.GetEndpoint(name, "http").Port}";
        }

        await using var node = ManagedProcess.Start(DotNetHost.Run("node4", ResourceProjects.GetPath(ResourceProjects.Node, typeof(AspireContractTests).Assembly), [], environment));
        await HealthProbe.WaitAsync("node4", new Uri($"http://localhost:{httpPort}/health"), node, TimeSpan.FromSeconds(120), CancellationToken.None);
        using var node4 = new KvClient($"http://localhost:{grpcPort}");

        var fromNode4 = await node4.PutAsync("contract/from-node4", "hello from node4");
        var fromNode1 = await app.CreateKvClient("node1").PutAsync("contract/from-node1", "hello from node1");

        var seenOnNode1 = await app.CreateKvClient("node1").GetAsync("contract/from-node4");
        Assert.Equal("hello from node4", seenOnNode1.Entry.Value.ToStringUtf8());
        Assert.Equal(fromNode4.Revision, seenOnNode1.Entry.ModRevision);
        var seenOnNode4 = await node4.GetAsync("contract/from-node1");
        Assert.Equal("hello from node1", seenOnNode4.Entry.Value.ToStringUtf8());
        Assert.Equal(fromNode1.Revision, seenOnNode4.Entry.ModRevision);

        var status = await node4.StatusAsync();
        Assert.Equal("node4", status.NodeId);
        Assert.Equal(NodeHealth.Serving, status.Health);
        Assert.Equal(["node1", "node2", "node3"], status.Peers.Select(p => p.NodeId));
        Assert.All(status.Peers, p => Assert.StartsWith("http://localhost:", p.Address));
        Assert.True(File.Exists(Path.Combine(home.Path, "aspirekv", "node4", "snapshot.akv")) || status.AppliedLogOffset >= 0);

        await node.StopAsync(TimeSpan.FromSeconds(10));
        Assert.True(File.Exists(Path.Combine(home.Path, "aspirekv", "node4", "snapshot.akv")), "node4 wrote no snapshot to its default data folder");
    }

    /// <summary>The stream port of the AppHost's broker, which the AppHost hands its nodes in Replication__StreamEndpoints.</summary>
    private static int StreamPort(AspireKvApp app) =>
        app.Application.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .OfType<RabbitMQServerProcessResource>().Single().Layout.StreamPort;
}
