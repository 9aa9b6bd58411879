using System.Globalization;
using System.Text.Json;
using AspireKv.Testing;

namespace AspireKv.IntegrationTests;

/// <summary>Debian's etcdctl (etcd-client), as a separate process, against AspireKv nodes' etcd API.</summary>
[Collection(ClusterCollection.Name)]
public sealed class EtcdctlTests(ClusterFixture cluster)
{
    private readonly Etcdctl _etcdctl = new(cluster);

    [Fact]
    public async Task Put_get_and_del_work_from_etcdctl_and_match_the_native_api()
    {
        var prefix = $"etcdctl/{Guid.NewGuid():N}/";
        Assert.Equal("OK", (await EtcdctlAsync("node1", "put", prefix + "a", "one")).Trim());
        Assert.Equal("OK", (await EtcdctlAsync("node2", "put", prefix + "b", "two")).Trim());
        Assert.Equal("OK", (await EtcdctlAsync("node1", "put", prefix + "c", "three")).Trim());

        Assert.Equal($"{prefix}a\none", (await EtcdctlAsync("node3", "get", prefix + "a")).Trim());
        Assert.Equal($"{prefix}a\none\n{prefix}b\ntwo", (await EtcdctlAsync("node3", "get", prefix, "--prefix", "--limit", "2")).Trim());
        Assert.Equal($"{prefix}a\n{prefix}b\n{prefix}c", (await EtcdctlAsync("node2", "get", prefix, "--prefix", "--keys-only")).Replace("\n\n", "\n").Trim());

        // The same store as the native API, at the same revisions.
        var native = await cluster.Client("node1").GetAsync(prefix + "c");
        using (var json = JsonDocument.Parse(await EtcdctlAsync("node2", "get", prefix + "c", "-w", "json")))
        {
            var kv = json.RootElement.GetProperty("kvs")[0];
            Assert.Equal(native.Entry.ModRevision, kv.GetProperty("mod_revision").GetInt64());
            Assert.Equal("three", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(kv.GetProperty("value").GetString()!)));
            Assert.True(json.RootElement.GetProperty("header").GetProperty("revision").GetInt64() >= native.Entry.ModRevision);
        }

        await cluster.Client("node3").PutAsync(prefix + "a", "uno");
        var past = native.Entry.ModRevision.ToString(CultureInfo.InvariantCulture);
        Assert.Equal($"{prefix}a\none", (await EtcdctlAsync("node1", "get", prefix + "a", "--rev", past)).Trim());
        Assert.Equal($"{prefix}a\nuno", (await EtcdctlAsync("node1", "get", prefix + "a")).Trim());

        Assert.Equal("1", (await EtcdctlAsync("node1", "del", prefix + "a")).Trim());
        Assert.Equal("2", (await EtcdctlAsync("node2", "del", prefix, "--prefix")).Trim());
        Assert.False((await cluster.Client("node3").GetAsync(prefix + "b")).Found);
    }

    [Fact]
    public async Task Txn_from_etcdctl_runs_one_branch_and_compaction_is_seen_by_reads()
    {
        var key = $"etcdctl-txn/{Guid.NewGuid():N}";
        await cluster.Client("node1").PutAsync(key, "old");

        var script = $"value(\"{key}\") = \"old\"\n\nput {key} new\n\nput {key} never\n\n";
        var txn = await EtcdctlWithInputAsync("node2", script, "txn");
        Assert.Equal("SUCCESS\n\nOK", txn.Trim());
        Assert.Equal("new", (await cluster.Client("node3").GetStringAsync(key)));

        var failed = await EtcdctlWithInputAsync("node2", script, "txn");
        Assert.StartsWith("FAILURE", failed.Trim());

        var revision = (await cluster.Client("node1").PutAsync(key, "newest")).Revision;
        Assert.Contains("compacted revision", await EtcdctlAsync("node3", "compaction", revision.ToString(CultureInfo.InvariantCulture)));
        var (exitCode, output) = await RunAsync("node1", null, "get", key, "--rev", (revision - 1).ToString(CultureInfo.InvariantCulture));
        Assert.NotEqual(0, exitCode);
        Assert.Contains("required revision has been compacted", output);
    }

    [Fact]
    public async Task Member_list_and_endpoint_status_describe_the_nodes()
    {
        var members = await EtcdctlAsync("node1", "member", "list");
        foreach (var node in cluster.Nodes.Keys)
        {
            Assert.Contains($", {node}, ", members);
        }

        Assert.Contains($"http://127.0.0.1:{cluster.Nodes["node1"].Spec.GrpcPort}", members);

        using var status = JsonDocument.Parse(await EtcdctlAsync("node2", "endpoint", "status", "-w", "json"));
        var entry = status.RootElement[0];
        Assert.Equal("3.4.0", entry.GetProperty("Status").GetProperty("version").GetString());
        var header = entry.GetProperty("Status").GetProperty("header");
        Assert.True(header.GetProperty("revision").GetInt64() > 0);
        Assert.NotEqual(0UL, header.GetProperty("cluster_id").GetUInt64());

        // Every node reports the same cluster id.
        var node3 = JsonDocument.Parse(await EtcdctlAsync("node3", "endpoint", "status", "-w", "json")).RootElement[0].GetProperty("Status").GetProperty("header");
        Assert.Equal(header.GetProperty("cluster_id").GetUInt64(), node3.GetProperty("cluster_id").GetUInt64());

        Assert.Contains("is healthy", await EtcdctlAsync("node3", "endpoint", "health"));
        Assert.Equal(string.Empty, (await EtcdctlAsync("node1", "alarm", "list")).Trim());
    }

    [Fact]
    public async Task Calls_aspirekv_does_not_implement_say_so()
    {
        foreach (var (arguments, method) in new[]
        {
            (new[] { "defrag" }, "/etcdserverpb.Maintenance/Defragment"),
            (new[] { "member", "add", "extra", "--peer-urls", "http://127.0.0.1:1" }, "/etcdserverpb.Cluster/MemberAdd"),
        })
        {
            var (exitCode, output) = await RunAsync("node1", null, arguments);
            Assert.True(exitCode != 0, $"etcdctl {string.Join(' ', arguments)} succeeded: {output}");
            Assert.Contains($"AspireKv's etcd API does not support {method}", output);
        }
    }

    [Fact]
    public async Task Watch_from_etcdctl_replays_from_a_revision_and_follows_writes_made_elsewhere()
    {
        var prefix = $"etcdctl-watch/{Guid.NewGuid():N}/";
        var first = await cluster.Client("node1").PutAsync(prefix + "a", "1");
        await using var watch = Start("node3", "watch", prefix, "--prefix", "--rev", first.Revision.ToString(CultureInfo.InvariantCulture), "--prev-kv");

        await Eventually.TrueAsync(() => Output(watch).Contains($"{prefix}a\n1", StringComparison.Ordinal), TimeSpan.FromSeconds(30), () => Output(watch));
        Assert.Equal("OK", (await EtcdctlAsync("node2", "put", prefix + "a", "2")).Trim());
        await cluster.Client("node1").DeleteAsync(prefix + "a");
        await Eventually.TrueAsync(() => Output(watch).Contains("DELETE", StringComparison.Ordinal), TimeSpan.FromSeconds(30), () => Output(watch));
        watch.Kill();

        // Each event in order; with --prev-kv etcdctl prints the key as it was before the event, then as it is.
        var lines = Output(watch).Split('\n');
        Assert.Equal(["PUT", $"{prefix}a", "1", "PUT", $"{prefix}a", "1", $"{prefix}a", "2", "DELETE", $"{prefix}a", "2", $"{prefix}a"], lines.Where(l => l.Length > 0));
    }

    [Fact]
    public async Task Leases_from_etcdctl_grant_attach_keep_alive_and_revoke()
    {
        var key = $"etcdctl-lease/{Guid.NewGuid():N}";
        var granted = (await EtcdctlAsync("node1", "lease", "grant", "60")).Trim();
        Assert.Matches("^lease [0-9a-f]+ granted with TTL\\(60s\\)$", granted);
        var id = granted.Split(' ')[1];

        Assert.Equal("OK", (await EtcdctlAsync("node2", "put", key, "held", "--lease", id)).Trim());
        Assert.Equal(long.Parse(id, NumberStyles.HexNumber, CultureInfo.InvariantCulture), (await cluster.Client("node3").GetAsync(key)).Entry.Lease);
        Assert.Matches($"^lease {id} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[{key}\\]\\)$", (await EtcdctlAsync("node3", "lease", "timetolive", id, "--keys")).Trim());
        Assert.Contains(id, await EtcdctlAsync("node1", "lease", "list"));
        Assert.Equal($"lease {id} keepalived with TTL(60)", (await EtcdctlAsync("node2", "lease", "keep-alive", "--once", id)).Trim());

        Assert.Equal($"lease {id} revoked", (await EtcdctlAsync("node3", "lease", "revoke", id)).Trim());
        Assert.False((await cluster.Client("node1").GetAsync(key)).Found);
        Assert.Equal($"lease {id} already expired", (await EtcdctlAsync("node1", "lease", "timetolive", id)).Trim());
        var (exitCode, output) = await RunAsync("node1", null, "put", key, "again", "--lease", id);
        Assert.NotEqual(0, exitCode);
        Assert.Contains("requested lease not found", output);
    }

    [Fact]
    public async Task Npm_etcd3_client_puts_gets_watches_a_prefix_and_uses_a_lease()
    {
        var prefix = $"etcd3/{Guid.NewGuid():N}/";
        var result = await NodeInterop.RunAsync("etcd3.js", $"127.0.0.1:{cluster.Nodes["node2"].Spec.GrpcPort}", prefix);

        Assert.Equal("one", result.GetProperty("plain").GetString());
        Assert.Equal("two", result.GetProperty("leasedBefore").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("leasedAfter").ValueKind);
        Assert.Equal([prefix + "plain"], result.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal([$"PUT {prefix}plain=one", $"PUT {prefix}leased=two", $"DELETE {prefix}leased"], result.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.True((await cluster.Client("node1").GetAsync(prefix + "plain")).Found);
    }

    [Fact]
    public async Task Watch_on_node3_sees_every_event_in_order_under_load_from_an_etcd_client_on_node1()
    {
        const int Puts = 600;
        var prefix = $"etcd3-load/{Guid.NewGuid():N}/";
        var result = await NodeInterop.RunAsync("etcd3-load.js", $"127.0.0.1:{cluster.Nodes["node1"].Spec.GrpcPort}", $"127.0.0.1:{cluster.Nodes["node3"].Spec.GrpcPort}", prefix, Puts.ToString(CultureInfo.InvariantCulture), "16");

        var puts = result.GetProperty("puts").EnumerateArray().Select(p => (Value: p.GetProperty("value").GetString(), Revision: p.GetProperty("revision").GetInt64())).ToList();
        var events = result.GetProperty("events").EnumerateArray().Select(e => (Value: e.GetProperty("value").GetString(), Revision: e.GetProperty("revision").GetInt64())).ToList();
        Assert.Equal(Puts, puts.Count);
        Assert.Equal(Puts, events.Count);

        // Every acknowledged put, exactly once, in revision order.
        Assert.Equal(puts.OrderBy(p => p.Revision), events);
    }

    private ManagedProcess Start(string node, params string[] arguments) => _etcdctl.Start(node, arguments);

    private static string Output(ManagedProcess process) => Etcdctl.Output(process);

    private Task<string> EtcdctlAsync(string node, params string[] arguments) => _etcdctl.OkAsync(node, arguments);

    private Task<string> EtcdctlWithInputAsync(string node, string? stdin, params string[] arguments) => _etcdctl.OkWithInputAsync(node, stdin, arguments);

    private Task<(int ExitCode, string Output)> RunAsync(string node, string? stdin, params string[] arguments) => _etcdctl.RunAsync(node, stdin, arguments);
}
