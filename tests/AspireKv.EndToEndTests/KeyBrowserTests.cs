using System.Net;

namespace AspireKv.EndToEndTests;

/// <summary>The dashboard's key browser API: keys under a prefix on a chosen node, and a key's history.</summary>
[Collection(TopologyCollection.Name)]
public sealed class KeyBrowserTests(TopologyFixture fixture)
{
    [Fact]
    public async Task Lists_keys_by_prefix_and_shows_a_keys_history()
    {
        var prefix = $"browse/{Guid.NewGuid():N}/";
        var node1 = fixture.App.CreateKvClient("node1");
        await node1.PutAsync(prefix + "b", "two");
        await node1.PutAsync(prefix + "a", "one");
        var last = await node1.PutAsync(prefix + "a", "uno");
        using var dashboard = new DashboardClient(fixture.App.Application.Dashboard!);
        await dashboard.SignInAsync();

        // Reads are serializable, so wait until node3 has applied the last Put.
        await Testing.Eventually.TrueAsync(async () => (await fixture.App.CreateKvClient("node3").StatusAsync()).AppliedRevision >= last.Revision, TimeSpan.FromSeconds(30));
        var keys = await dashboard.GetAsync($"/api/keys?node=node3&prefix={Uri.EscapeDataString(prefix)}");
        Assert.Equal("node3", keys.GetProperty("node").GetString());
        Assert.Equal([prefix + "a", prefix + "b"], keys.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("key").GetString()));
        Assert.Equal("uno", keys.GetProperty("entries")[0].GetProperty("value").GetString());
        Assert.Equal(2, keys.GetProperty("entries")[0].GetProperty("version").GetInt64());

        var history = await dashboard.GetAsync($"/api/keys/history?node=node3&key={Uri.EscapeDataString(prefix + "a")}");
        var events = history.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(["one", "uno"], events.Select(e => e.GetProperty("value").GetString()));
        Assert.Equal("one", events[1].GetProperty("previous").GetString());
        Assert.Equal(last.Revision, events[1].GetProperty("revision").GetInt64());

        using var unknown = await dashboard.RawGetAsync("/api/keys?node=node9");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("node1, node2, node3", await unknown.Content.ReadAsStringAsync());
        using var noKey = await dashboard.RawGetAsync("/api/keys/history");
        Assert.Equal(HttpStatusCode.BadRequest, noKey.StatusCode);
    }
}
