using System.Net;
using System.Text.Json;

namespace AspireKv.EndToEndTests;

/// <summary>
/// What the Aspire dashboard has no page for, served by each node and linked from its resource:
/// the key browser (keys under a prefix, a key's history) and the Replication view.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class KeyBrowserTests(TopologyFixture fixture)
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false });

    [Fact]
    public async Task A_nodes_key_browser_lists_keys_by_prefix_and_shows_a_keys_history()
    {
        var prefix = $"browse/{Guid.NewGuid():N}/";
        var node1 = fixture.App.CreateKvClient("node1");
        await node1.PutAsync(prefix + "b", "two");
        await node1.PutAsync(prefix + "a", "one");
        var last = await node1.PutAsync(prefix + "a", "uno");

        // Reads are serializable, so wait until node3 has applied the last Put.
        await Testing.Eventually.TrueAsync(async () => (await fixture.App.CreateKvClient("node3").StatusAsync()).AppliedRevision >= last.Revision, TimeSpan.FromSeconds(30));
        var keys = await GetAsync("node3", $"/api/keys?prefix={Uri.EscapeDataString(prefix)}");
        Assert.Equal("node3", keys.GetProperty("node").GetString());
        Assert.Equal([prefix + "a", prefix + "b"], keys.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("key").GetString()));
        Assert.Equal("uno", keys.GetProperty("entries")[0].GetProperty("value").GetString());
        Assert.Equal(2, keys.GetProperty("entries")[0].GetProperty("version").GetInt64());

        var history = await GetAsync("node3", $"/api/keys/history?key={Uri.EscapeDataString(prefix + "a")}");
        var events = history.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(["one", "uno"], events.Select(e => e.GetProperty("value").GetString()));
        Assert.Equal("one", events[1].GetProperty("previous").GetString());
        Assert.Equal(last.Revision, events[1].GetProperty("revision").GetInt64());

        using var noKey = await Http.GetAsync(new Uri(fixture.App.GetEndpoint("node3", "http"), "/api/keys/history"));
        Assert.Equal(HttpStatusCode.BadRequest, noKey.StatusCode);
        using var page = await Http.GetAsync(new Uri(fixture.App.GetEndpoint("node3", "http"), "/keys"));
        Assert.Contains("<h1>Keys</h1>", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_replication_view_shows_the_streams_leader_and_every_nodes_applied_offset_and_lag()
    {
        var put = await fixture.App.CreateKvClient("node2").PutAsync($"replication/{Guid.NewGuid():N}", "1");

        var view = await Testing.Eventually.ValueAsync(
            () => GetAsync("node1", "/api/replication"),
            // ...and the broker's management API has the stream's figures again (an earlier test restarts the broker).
            v => v.GetProperty("nodes").EnumerateArray().Where(n => n.GetProperty("name").GetString() != "node4").All(n => n.TryGetProperty("appliedRevision", out var r) && r.GetInt64() >= put.Revision)
                && v.GetProperty("stream").TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Number
                && v.GetProperty("stream").TryGetProperty("leader", out var leader) && leader.ValueKind == JsonValueKind.String,
            TimeSpan.FromSeconds(30),
            v => v.ToString());

        var stream = view.GetProperty("stream");
        Assert.Equal("aspirekv.log", stream.GetProperty("name").GetString());
        Assert.Equal("messaging", stream.GetProperty("source").GetString());
        Assert.StartsWith("aspirekv-", stream.GetProperty("leader").GetString());
        Assert.True(stream.GetProperty("messages").GetInt64() > 0);
        var nodes = view.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("name").GetString()!);
        Assert.Equal(["node1", "node2", "node3", "node4"], nodes.Keys.Order());
        foreach (var name in new[] { "node1", "node2", "node3" })
        {
            Assert.Equal("Serving", nodes[name].GetProperty("health").GetString());
            Assert.True(nodes[name].GetProperty("lag").GetInt64() >= 0);
        }

        Assert.Equal("Unknown", nodes["node4"].GetProperty("health").GetString()); // declared, never started
        var urls = fixture.App.GetResource("node1").Annotations.OfType<Aspire.Hosting.ApplicationModel.ResourceUrlsCallbackAnnotation>();
        Assert.NotEmpty(urls);
    }

    private async Task<JsonElement> GetAsync(string node, string path)
    {
        using var response = await Http.GetAsync(new Uri(fixture.App.GetEndpoint(node, "http"), path));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path} on {node}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
