
namespace AspireKv.EndToEndTests;

/// <summary>What a declaration says is what the resources get, through AspireKv's Aspire integrations.</summary>
public sealed class AppModelTests
{
    [Fact]
    public async Task Renaming_the_broker_in_the_declaration_renames_the_connection_string_the_nodes_receive_and_a_reference_alone_adds_no_wait()
    {
        await using var app = await AspireKvApp.StartDeclaredAsync(["--Spares=0"], builder =>
        {
            // A reference alone: the node waits for the broker's connection string, not for its health.
            var broker = builder.AddRabbitMQBroker("queue");
            builder.AddKeyValueStore("kv", nodeNamePrefix: "kv").WithReplicas(1).WithReference(broker);
        }, healthy: ["queue", "kv1"]);

        var node = app.GetResource("kv1");
        Assert.DoesNotContain(node.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "queue");
        var environment = app.EnvironmentOf("kv1");
        Assert.Equal(await ((IResourceWithConnectionString)app.GetResource("queue")).ConnectionStringExpression.GetValueAsync(default), environment["ConnectionStrings__queue"]);
        Assert.Equal("queue", environment["Replication__ConnectionName"]);
        Assert.DoesNotContain(environment.Keys, k => k.StartsWith("ConnectionStrings__messaging", StringComparison.Ordinal));

        // The node found its broker under the new name: it replicates and serves.
        var put = await app.CreateKvClient("kv1").PutAsync("renamed", "through the queue broker");
        Assert.Equal("through the queue broker", await app.CreateKvClient("kv1").GetStringAsync("renamed"));
        Assert.Equal(1, put.Revision);
    }

    [Fact]
    public async Task A_spare_node_started_on_a_running_topology_installs_a_peers_snapshot_when_the_log_was_trimmed()
    {
        await using var app = await AspireKvApp.StartDeclaredAsync([], builder =>
        {
            var messaging = builder.AddRabbitMQBroker("messaging");
            builder.AddKeyValueStore("kv").WithReplicas(2).WithSpares(1).WithReference(messaging).WaitFor(messaging)
                .WithEnvironment("Replication__StreamMaxLengthBytes", "200000")
                .WithEnvironment("Replication__StreamMaxSegmentSizeBytes", "50000")
                .WithEnvironment("Node__SnapshotInterval", "00:00:01");
        });
        Assert.Equal("NotStarted", app.State("node3"));
        Assert.False(app.Endpoints().Resources.ContainsKey("node3"), "a spare that never started is in the endpoints file");

        // About 2 MB through a stream that keeps 200 KB: it no longer starts at offset 0.
        var value = new string('x', 2000);
        await app.CreateKvClient("node1").PutAsync("joined/first", "before node3");
        for (var i = 0; i < 1000; i++)
        {
            await app.CreateKvClient(i % 2 == 0 ? "node1" : "node2").PutAsync($"joined/{i}", value);
        }

        await app.StartAsync("node3");

        Assert.Equal("Running", app.State("node3"));
        Assert.Equal("before node3", await app.CreateKvClient("node3").GetStringAsync("joined/first"));
        Assert.Equal(value, await app.CreateKvClient("node3").GetStringAsync("joined/999"));
        Assert.Contains(app.Logs("node3"), l => l.Contains("installed a snapshot from node", StringComparison.Ordinal));
        await Testing.Eventually.TrueAsync(() => app.Endpoints().Resources.ContainsKey("node3"), TimeSpan.FromSeconds(30), () => "the endpoints file does not list the started node");
    }

    [Fact]
    public async Task A_node_that_leaves_is_gone_with_its_folder_the_last_one_cannot_and_started_again_it_catches_up_from_nothing()
    {
        await using var app = await AspireKvApp.StartDeclaredAsync(["--Spares=0"], builder =>
        {
            var messaging = builder.AddRabbitMQBroker("messaging");
            builder.AddKeyValueStore("kv").WithReplicas(2).WithReference(messaging).WaitFor(messaging);
        });
        await app.CreateKvClient("node2").PutAsync("leave/before", "written before node2 left");
        var pid = app.Pid("node2")!.Value;
        var folder = Path.Combine(app.StateDirectory, "node2");
        Assert.True(Directory.Exists(folder));

        await app.LeaveAsync("node2");

        Assert.Contains(app.State("node2"), new[] { "Exited", "Finished" });
        Assert.False(ProcessTable.IsAlive(pid), $"node2's process {pid} is still running");
        Assert.False(Directory.Exists(folder), "node2's state folder is still there");
        await Testing.Eventually.TrueAsync(() => !app.Endpoints().Resources.ContainsKey("node2"), TimeSpan.FromSeconds(30), () => "the endpoints file still lists node2");

        // The rest goes on; the last node cannot leave; the broker has no leave command.
        await app.CreateKvClient("node1").PutAsync("leave/after", "written after node2 left");
        var last = await Assert.ThrowsAsync<InvalidOperationException>(() => app.LeaveAsync("node1"));
        Assert.Contains("node1 is the last serving node of kv; it cannot leave", last.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => app.LeaveAsync("messaging"));

        // Started again, it starts from nothing, and catches up with both writes.
        await app.StartAsync("node2");

        Assert.True(Directory.Exists(folder));
        Assert.Equal("written before node2 left", await app.CreateKvClient("node2").GetStringAsync("leave/before"));
        Assert.Equal("written after node2 left", await app.CreateKvClient("node2").GetStringAsync("leave/after"));
        await Testing.Eventually.TrueAsync(() => app.Endpoints().Resources.ContainsKey("node2"), TimeSpan.FromSeconds(30), () => "the endpoints file does not list node2 again");
    }
}
