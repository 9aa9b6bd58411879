using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>What a declaration says is what the resources get.</summary>
public sealed class AppModelTests
{
    [Fact]
    public async Task Renaming_the_broker_in_the_declaration_renames_the_connection_string_the_nodes_receive_and_a_reference_alone_adds_no_wait()
    {
        await using var app = await DistributedApplicationTestingBuilder.StartAsync<Program>(builder =>
        {
            // A reference alone: the node waits for the broker's connection string, not for its health.
            var broker = builder.AddRabbitMQ("queue");
            builder.AddKeyValueNodes("kv", 1).WithReference(broker);
        });

        var node = (NodeResource)app.GetResource("kv1");
        Assert.Empty(node.WaitsFor); // nothing added behind the declaration's back
        var broker = app.Application.GetResource<RabbitMqResource>("queue");
        Assert.Equal(broker.ConnectionString, node.Environment["ConnectionStrings__queue"]);
        Assert.Equal("queue", node.Environment["Replication__ConnectionName"]);
        Assert.DoesNotContain(node.Environment.Keys, k => k.StartsWith("ConnectionStrings__messaging", StringComparison.Ordinal));

        // The node found its broker under the new name: it replicates and serves.
        var put = await app.CreateKvClient("kv1").PutAsync("renamed", "through the queue broker");
        Assert.Equal("through the queue broker", await app.CreateKvClient("kv1").GetStringAsync("renamed"));
        Assert.Equal(1, put.Revision);
    }

    [Fact]
    public async Task A_node_added_through_the_testing_API_to_a_running_topology_installs_a_peers_snapshot_when_the_log_was_trimmed()
    {
        await using var app = await DistributedApplicationTestingBuilder.StartAsync<Program>(builder =>
        {
            var messaging = builder.AddRabbitMQ("messaging");
            builder.AddKeyValueNodes("node", 2).WithReference(messaging).WaitFor(messaging)
                .WithEnvironment("Replication__StreamMaxLengthBytes", "200000")
                .WithEnvironment("Replication__StreamMaxSegmentSizeBytes", "50000")
                .WithEnvironment("Node__SnapshotInterval", "00:00:01");
        });

        // About 2 MB through a stream that keeps 200 KB: it no longer starts at offset 0.
        var value = new string('x', 2000);
        await app.CreateKvClient("node1").PutAsync("joined/first", "before node3");
        for (var i = 0; i < 1000; i++)
        {
            await app.CreateKvClient(i % 2 == 0 ? "node1" : "node2").PutAsync($"joined/{i}", value);
        }

        var added = await app.AddNodeAsync();

        Assert.Equal("node3", added);
        Assert.Equal(ResourceState.Running, app.GetResource(added).State);
        Assert.Equal("before node3", await app.CreateKvClient(added).GetStringAsync("joined/first"));
        Assert.Equal(value, await app.CreateKvClient(added).GetStringAsync("joined/999"));
        Assert.Contains(app.GetResource(added).Logs.Snapshot(), l => l.Text.Contains("installed a snapshot from node", StringComparison.Ordinal));
        var endpoints = AspireKv.Client.Discovery.EndpointsFile.Load(app.Application.Options.EndpointsFile);
        Assert.True(endpoints.Resources.ContainsKey(added), "the endpoints file does not list the added node");
    }

    [Fact]
    public async Task A_node_removed_through_the_testing_API_leaves_the_topology_and_one_added_later_under_its_name_starts_empty_and_catches_up()
    {
        await using var app = await DistributedApplicationTestingBuilder.StartAsync<Program>(builder =>
        {
            var messaging = builder.AddRabbitMQ("messaging");
            builder.AddKeyValueNodes("node", 2).WithReference(messaging).WaitFor(messaging);
        });
        await app.CreateKvClient("node2").PutAsync("leave/before", "written before node2 left");
        var pid = app.GetResource("node2").Pid!.Value;
        var folder = Path.Combine(app.Application.Options.StateDirectory, "node2");
        Assert.True(Directory.Exists(folder));

        await app.RemoveNodeAsync("node2");

        Assert.Equal(["messaging", "node1"], app.Resources.Select(r => r.Name));
        Assert.Throws<ArgumentException>(() => app.GetResource("node2"));
        Assert.False(ProcessTable.IsAlive(pid), $"node2's process {pid} is still running");
        Assert.False(Directory.Exists(folder), "node2's state folder is still there");
        Assert.False(AspireKv.Client.Discovery.EndpointsFile.Load(app.Application.Options.EndpointsFile).Resources.ContainsKey("node2"));

        // The rest goes on; the last node cannot leave; nor can the broker, which is not a node.
        await app.CreateKvClient("node1").PutAsync("leave/after", "written after node2 left");
        var last = await Assert.ThrowsAsync<InvalidOperationException>(() => app.RemoveNodeAsync("node1"));
        Assert.Contains("node1 is the only node", last.Message, StringComparison.Ordinal);
        var broker = await Assert.ThrowsAsync<InvalidOperationException>(() => app.RemoveNodeAsync("messaging"));
        Assert.Contains("only nodes can be removed", broker.Message, StringComparison.Ordinal);

        // A node added now takes the free name, starts from nothing, and catches up with both writes.
        var added = await app.AddNodeAsync();

        Assert.Equal("node2", added);
        Assert.Equal("written before node2 left", await app.CreateKvClient(added).GetStringAsync("leave/before"));
        Assert.Equal("written after node2 left", await app.CreateKvClient(added).GetStringAsync("leave/after"));
    }
}
