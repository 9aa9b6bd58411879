using System.Globalization;
using System.Text.Json;
using AspireKv.Hosting.Processes;
using AspireKv.Testing;

namespace AspireKv.IntegrationTests;

/// <summary>Debian's etcdctl (etcd-client), as a separate process, against AspireKv nodes' etcd API.</summary>
[Collection(ClusterCollection.Name)]
public sealed class EtcdctlTests(ClusterFixture cluster)
{
    private const string Etcdctl = "/usr/bin/etcdctl";

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
    }

    private Task<string> EtcdctlAsync(string node, params string[] arguments) => EtcdctlWithInputAsync(node, null, arguments);

    private async Task<string> EtcdctlWithInputAsync(string node, string? stdin, params string[] arguments)
    {
        var (exitCode, output) = await RunAsync(node, stdin, arguments);
        Assert.True(exitCode == 0, $"etcdctl {string.Join(' ', arguments)} exited {exitCode}: {output}");
        return output;
    }

    private async Task<(int ExitCode, string Output)> RunAsync(string node, string? stdin, params string[] arguments)
    {
        Assert.True(File.Exists(Etcdctl), $"This test drives Debian's etcdctl at {Etcdctl}; install it with: apt-get install -y etcd-client");
        var spec = new ProcessSpec($"etcdctl-{node}", Etcdctl, ["--endpoints", $"127.0.0.1:{cluster.Nodes[node].Spec.GrpcPort}", "--command-timeout", "15s", .. arguments])
        {
            Environment = new Dictionary<string, string?> { ["ETCDCTL_API"] = "3" },
        };
        await using var process = ManagedProcess.Start(spec);
        if (stdin is not null)
        {
            await process.WriteToStandardInputAsync(stdin);
        }

        await process.CloseStandardInputAsync();
        var exitCode = await process.Exited.WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(100); // the last lines arrive after the exit
        return (exitCode, string.Join('\n', process.RecentOutput.Select(l => l.Text)));
    }
}
