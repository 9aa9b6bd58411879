using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>What a declaration says is what the resources get.</summary>
public sealed class AppModelTests
{
    [Fact]
    public async Task Renaming_the_broker_in_the_declaration_renames_the_connection_string_the_nodes_receive()
    {
        await using var app = await DistributedApplicationTestingBuilder.StartAsync<Program>(builder =>
        {
            var broker = builder.AddRabbitMQ("queue");
            builder.AddKeyValueNodes("kv", 1).WithReference(broker).WaitFor(broker);
        });

        var node = (NodeResource)app.GetResource("kv1");
        var broker = app.Application.GetResource<RabbitMqResource>("queue");
        Assert.Equal(broker.ConnectionString, node.Environment["ConnectionStrings__queue"]);
        Assert.Equal("queue", node.Environment["Replication__ConnectionName"]);
        Assert.DoesNotContain(node.Environment.Keys, k => k.StartsWith("ConnectionStrings__messaging", StringComparison.Ordinal));

        // The node found its broker under the new name: it replicates and serves.
        var put = await app.CreateKvClient("kv1").PutAsync("renamed", "through the queue broker");
        Assert.Equal("through the queue broker", await app.CreateKvClient("kv1").GetStringAsync("renamed"));
        Assert.Equal(1, put.Revision);
    }
}
