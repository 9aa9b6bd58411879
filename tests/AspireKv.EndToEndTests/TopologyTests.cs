using AspireKv.Hosting.AppModel;
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
    public void Topology_has_the_broker_and_three_running_nodes()
    {
        Assert.Equal(["messaging", "node1", "node2", "node3"], fixture.App.Resources.Select(r => r.Name));
        Assert.All(fixture.App.Resources, r => Assert.Equal(ResourceState.Running, r.State));
        Assert.Equal(BrokerSource.LocalServer, ((RabbitMqResource)fixture.App.GetResource("messaging")).Source);
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
        await app.KillAsync("node2");
        Assert.Equal(ResourceState.Exited, app.GetResource("node2").State);
        var unreachable = await Assert.ThrowsAsync<RpcException>(() => app.CreateKvClient("node2").GetAsync("any", Consistency.Serializable));
        Assert.Equal(StatusCode.Unavailable, unreachable.StatusCode);

        var keys = Enumerable.Range(0, 20).Select(i => $"catch-up/{Guid.NewGuid():N}/{i}").ToList();
        foreach (var key in keys)
        {
            await app.CreateKvClient("node1").PutAsync(key, key);
        }

        await app.StartAsync("node2");

        Assert.Equal(ResourceState.Running, app.GetResource("node2").State);
        Assert.Equal(1, app.GetResource("node2").RestartCount);
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
