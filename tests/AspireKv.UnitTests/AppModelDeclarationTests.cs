using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Processes;

namespace AspireKv.UnitTests;

/// <summary>A declaration gives resources data and annotations; running them is the orchestrator's.</summary>
public sealed class AppModelDeclarationTests
{
    [Fact]
    public void A_declaration_is_annotations_on_the_resources_with_no_address_until_the_application_starts()
    {
        var builder = new DistributedApplicationBuilder([], typeof(AppModelDeclarationTests).Assembly);
        var queue = builder.AddRabbitMQ("queue").WithClusterSize(3);
        builder.AddKeyValueNodes("kv", 2).WithReference(queue).WaitFor(queue).WithEnvironment("Node__SnapshotInterval", "00:00:05");

        var app = builder.Build();

        var node = app.GetResource<NodeResource>("kv2");
        Assert.Contains(new ReferenceAnnotation(queue.Resource), node.Annotations);
        Assert.Contains(new WaitAnnotation(queue.Resource), node.Annotations);
        Assert.Contains(new EnvironmentAnnotation("Node__SnapshotInterval", "00:00:05"), node.Annotations);
        Assert.Same(queue.Resource, node.Broker);
        Assert.Equal(["grpc", "http"], node.Annotations.OfType<EndpointAnnotation>().Select(e => e.Name));
        Assert.Empty(node.Endpoints); // ports are given when the application starts, not when it is declared
        Assert.Throws<InvalidOperationException>(() => node.GrpcAddress);

        // WithClusterSize overrides --brokers (1 here): three child brokers, listed after their cluster and under it.
        Assert.Equal(3, queue.Resource.ClusterSize);
        Assert.Equal(["queue", "queue-1", "queue-2", "queue-3", "kv1", "kv2"], app.Resources.Select(r => r.Name));
        Assert.All(queue.Resource.Brokers, b => Assert.Contains(new RelationshipAnnotation(queue.Resource, "Parent"), b.Annotations));
        Assert.All(app.Resources, r => Assert.Equal(ResourceState.NotStarted, r.State));
    }

    [Fact]
    public async Task A_resource_kind_the_orchestrator_has_no_runner_for_fails_the_start_with_its_name_before_anything_runs()
    {
        using var state = new TempDirectory("aspirekv-appmodel-test");
        var builder = new DistributedApplicationBuilder(
            ["--state-dir", state.Path, $"--EndpointsFile={Path.Combine(state.Path, "endpoints.json")}", "--no-dashboard", "--ConsoleOutput=false"],
            typeof(AppModelDeclarationTests).Assembly);
        var broker = builder.AddRabbitMQ("messaging");
        builder.AddResource(new Gadget("gadget"));
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("gadget is a Gadget ('gadget'), and the AppHost has no runner for that kind", error.Message, StringComparison.Ordinal);
        Assert.Equal(ResourceState.NotStarted, broker.Resource.State);
    }

    private sealed class Gadget(string name) : Resource(name, "gadget");
}
