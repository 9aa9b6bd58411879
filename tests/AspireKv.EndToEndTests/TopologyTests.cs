using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;

namespace AspireKv.EndToEndTests;

/// <summary>The AppHost's topology, broken on purpose through the testing API.</summary>
[Collection(TopologyCollection.Name)]
public sealed class TopologyTests(TopologyFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public void Topology_has_the_broker_three_running_nodes_and_a_spare_that_waits_to_be_started()
    {
        var app = fixture.App;
        Assert.Equal(["kv", "messaging", "messaging-epmd", "messaging-password", "node1", "node2", "node3", "node4"], app.Resources.Where(r => r.Name != "aspire-dashboard" && !r.Name.EndsWith("-rebuilder", StringComparison.Ordinal)).Select(r => r.Name).Order());
        Assert.IsType<Aspire.Hosting.ApplicationModel.RabbitMQServerProcessResource>(app.GetResource("messaging"));
        Assert.All(new[] { "messaging", "messaging-epmd", "node1", "node2", "node3" }, r => Assert.Equal("Running", app.State(r)));
        Assert.Equal("NotStarted", app.State("node4"));
        Assert.All(new[] { "node1", "node2", "node3", "node4" }, n => Assert.IsType<Aspire.Hosting.ApplicationModel.ProjectResource>(app.GetResource(n)));
    }

    [Fact]
    public async Task Put_on_node1_is_seen_by_linearizable_gets_on_node2_and_node3()
    {
        var key = $"e2e/{Guid.NewGuid():N}";

        var put = await fixture.App.CreateKvClient("node1").PutAsync(key, "hello");

        foreach (var node in new[] { "node2", "node3" })
        {
            var got = await fixture.App.CreateKvClient(node).GetAsync(key);
            Assert.True(got.Found, $"{key} is not visible on {node}");
            Assert.Equal("hello", got.Entry.Value.ToStringUtf8());
            Assert.Equal(put.Revision, got.Entry.ModRevision);
        }
    }

    [Fact]
    public async Task Killed_node2_catches_up_after_it_is_started_again()
    {
        var app = fixture.App;
        var pid = app.Pid("node2");
        await app.KillAsync("node2");
        Assert.Contains(app.State("node2"), new[] { "Exited", "Finished" });
        Assert.False(pid is null || ProcessTable.IsAlive(pid.Value), $"node2's own process {pid} is still running");
        var unreachable = await Assert.ThrowsAsync<RpcException>(() => app.CreateKvClient("node2").GetAsync("any", Consistency.Serializable));
        Assert.Equal(StatusCode.Unavailable, unreachable.StatusCode);

        var keys = Enumerable.Range(0, 20).Select(i => $"catch-up/{Guid.NewGuid():N}/{i}").ToList();
        foreach (var key in keys)
        {
            await app.CreateKvClient("node1").PutAsync(key, key);
        }

        await app.StartAsync("node2");

        Assert.Equal("Running", app.State("node2"));
        Assert.NotEqual(pid, app.Pid("node2"));
        foreach (var key in keys)
        {
            Assert.Equal(key, await app.CreateKvClient("node2").GetStringAsync(key, Consistency.Serializable));
        }
    }

    [Fact]
    public async Task Writes_resume_after_the_broker_restarts()
    {
        var app = fixture.App;
        var before = await app.CreateKvClient("node1").PutAsync("broker/before", "1");

        await app.RestartAsync("messaging");

        foreach (var node in new[] { "node1", "node2", "node3" })
        {
            var put = await PutWhenAvailableAsync(node, $"broker/after/{node}");
            Assert.True(put.Revision > before.Revision);
        }

        Assert.Equal("1", await app.CreateKvClient("node3").GetStringAsync("broker/before"));
    }

    private Task<PutResponse> PutWhenAvailableAsync(string node, string key) =>
        Eventually.SucceedsAsync<PutResponse, RpcException>(
            () => fixture.App.CreateKvClient(node).PutAsync(key, "after", timeout: TimeSpan.FromSeconds(3)),
            Patience,
            () => fixture.App.RecentLogs());
}
