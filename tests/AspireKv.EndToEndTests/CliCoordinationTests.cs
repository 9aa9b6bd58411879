using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AspireKv.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>The CLI's watch, txn, lease, history and compact verbs and the REPL's WATCH and HISTORY, as processes against the topology.</summary>
[Collection(TopologyCollection.Name)]
public sealed class CliCoordinationTests(TopologyFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Watch_prints_one_json_object_per_event_in_order_until_ctrl_c()
    {
        var prefix = $"cli-watch/{Guid.NewGuid():N}/";
        var node1 = fixture.App.CreateKvClient("node1");
        var first = await node1.PutAsync(prefix + "a", "1");

        await using var watch = AspireKvCli.Start(fixture, "-o", "json", "--target", "node3", "watch", prefix, "--prefix", "--prev", "--rev", Text(first.Revision));
        await fixture.App.CreateKvClient("node2").PutAsync(prefix + "a", "2");
        await node1.DeleteAsync(prefix + "a");
        await Eventually.TrueAsync(() => Lines(watch).Count >= 3, Patience, () => string.Join('\n', watch.RecentOutput.Select(l => l.Text)));
        watch.Interrupt();

        Assert.Equal(0, await watch.Exited.WaitAsync(Patience));
        var events = Lines(watch).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["PUT", "PUT", "DELETE"], events.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(["1", "2", null], events.Select(e => e.TryGetProperty("value", out var v) ? v.GetString() : null));
        Assert.Equal(first.Revision, events[0].GetProperty("revision").GetInt64());
        Assert.True(events[1].GetProperty("revision").GetInt64() < events[2].GetProperty("revision").GetInt64());
        Assert.Equal("1", events[1].GetProperty("previous").GetProperty("value").GetString());
    }

    [Fact]
    public async Task Txn_from_stdin_and_from_a_json_file_runs_one_branch()
    {
        var key = $"cli-txn/{Guid.NewGuid():N}";
        await fixture.App.CreateKvClient("node1").PutAsync(key, "old");

        var script = $"value(\"{key}\") = \"old\"\n\nput {key} new\nget {key}\n\nput {key} never\n";
        var succeeded = await AspireKvCli.RunAsync(fixture, script, "txn");
        Assert.True(succeeded.ExitCode == 0, succeeded.Error);
        var lines = succeeded.Output.Trim().Split('\n');
        Assert.StartsWith("SUCCESS (revision ", lines[0]);
        Assert.Equal($"{key}=new", lines[^1]);

        using var folder = new TempDirectory("aspirekv-cli-txn");
        var file = folder.Combine("txn.json");
        var transaction = new JsonObject
        {
            ["compares"] = new JsonArray(new JsonObject { ["key"] = key, ["value"] = Convert.ToBase64String("old"u8) }),
            ["failure"] = new JsonArray(new JsonObject { ["get"] = new JsonObject { ["key"] = key } }),
        };
        await File.WriteAllTextAsync(file, transaction.ToJsonString());
        var failed = await AspireKvCli.RunAsync(fixture, null, "-o", "json", "txn", "--file", file);
        Assert.True(failed.ExitCode == 0, failed.Error);
        using var document = JsonDocument.Parse(failed.Output);
        Assert.False(document.RootElement.GetProperty("succeeded").GetBoolean());
        Assert.Equal("new", document.RootElement.GetProperty("responses")[0].GetProperty("get").GetProperty("value").GetString());

        var bad = await AspireKvCli.RunAsync(fixture, "value(\"k\") ~ \"x\"\n", "txn");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("is not a compare", bad.Error);
    }

    [Fact]
    public async Task Lease_verbs_grant_attach_keep_alive_show_and_revoke()
    {
        var key = $"cli-lease/{Guid.NewGuid():N}";
        var grant = await Cli("-o", "json", "lease", "grant", "60");
        Assert.True(grant.ExitCode == 0, grant.Error);
        var id = JsonDocument.Parse(grant.Output).RootElement.GetProperty("id").GetString()!;

        Assert.Equal(0, (await Cli("put", key, "v", "--lease", id)).ExitCode);
        var ttl = await Cli("lease", "ttl", id, "--keys");
        Assert.Matches($@"^lease {id} granted with TTL\(60s\), remaining\(\d+s\), attached keys\(\[{key}\]\)$", ttl.Output.Trim());
        Assert.Contains(id, (await Cli("lease", "list")).Output);
        Assert.Equal($"lease {id} keepalived with TTL(60)", (await Cli("lease", "keepalive", "--once", id)).Output.Trim());

        var revoke = await Cli("lease", "revoke", id);
        Assert.Equal($"lease {id} revoked (deleted 1 keys)", revoke.Output.Trim());
        Assert.False((await fixture.App.CreateKvClient("node2").GetAsync(key)).Found);

        var gone = await Cli("lease", "keepalive", id);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("expired or was revoked", gone.Error);
        var notAnId = await Cli("lease", "revoke", "zz");
        Assert.Equal(2, notAnId.ExitCode);
        Assert.Contains("hexadecimal", notAnId.Error);
        Assert.Equal(2, (await Cli("lease", "grant", "0")).ExitCode);
    }

    [Fact]
    public async Task History_lists_a_keys_versions_and_compact_cuts_what_watch_can_replay()
    {
        var key = $"cli-history/{Guid.NewGuid():N}";
        var node1 = fixture.App.CreateKvClient("node1");
        var first = await node1.PutAsync(key, "one");
        await node1.PutAsync(key, "two");
        await node1.DeleteAsync(key);

        var history = await Cli("history", key);
        var lines = history.Output.Trim().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal($"PUT {key}=one (revision {first.Revision})", lines[0]);
        Assert.StartsWith($"PUT {key}=two (revision ", lines[1]);
        Assert.EndsWith(", was one)", lines[1]);
        Assert.StartsWith($"DELETE {key} (revision ", lines[2]);

        var compact = await Cli("compact", Text(first.Revision + 1));
        Assert.Equal($"compacted revision {first.Revision + 1}", compact.Output.Trim());
        var replay = await Cli("watch", key, "--rev", Text(first.Revision));
        Assert.Equal(2, replay.ExitCode);
        Assert.Contains($"the oldest revision this node serves is {first.Revision + 1}", replay.Error);
        Assert.Equal(2, (await Cli("history", key)).Output.Trim().Split('\n').Length);
    }

    [Fact]
    public async Task Repl_watch_returns_to_the_prompt_on_ctrl_c_and_history_follows()
    {
        var key = $"cli-repl-watch/{Guid.NewGuid():N}";
        await using var repl = AspireKvCli.Start(fixture, "repl");
        await repl.WriteToStandardInputAsync($"WATCH {key}\n");
        await Eventually.TrueAsync(() => Lines(repl).Any(l => l.StartsWith("(watching", StringComparison.Ordinal)), Patience);

        await fixture.App.CreateKvClient("node2").PutAsync(key, "seen");
        await Eventually.TrueAsync(() => Lines(repl).Any(l => l.StartsWith($"PUT {key}=seen", StringComparison.Ordinal)), Patience, () => string.Join('\n', Lines(repl)));
        repl.Interrupt();
        await repl.WriteToStandardInputAsync($"HISTORY {key}\nGET {key}\nEXIT\n");

        Assert.Equal(0, await repl.Exited.WaitAsync(Patience));
        await Task.Delay(100); // the last lines arrive after the exit
        var lines = Lines(repl);
        Assert.Equal(2, lines.Count(l => l.StartsWith($"PUT {key}=seen", StringComparison.Ordinal)));
        Assert.Equal("seen", lines[^1]);
    }

    private static List<string> Lines(ManagedProcess cli) =>
        [.. AspireKvCli.OutputOf(cli).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)];

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private Task<(int ExitCode, string Output, string Error)> Cli(params string[] arguments) => AspireKvCli.RunAsync(fixture, null, arguments);
}
