using System.Text.Json;
using AspireKv.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>etcdctl and the aspirekv CLI against the AppHost's topology: one store, the same revisions.</summary>
[Collection(TopologyCollection.Name)]
public sealed class EtcdCliTests(TopologyFixture fixture)
{
    private const string Etcdctl = "/usr/bin/etcdctl";

    [Fact]
    public async Task A_write_from_etcdctl_reads_back_through_aspirekv_and_the_other_way_round_at_the_same_revision()
    {
        var key = $"etcd-cli/{Guid.NewGuid():N}";

        Assert.Equal("OK", (await EtcdctlAsync("node1", "put", key + "/from-etcdctl", "hello")).Trim());
        var viaEtcdctl = ModRevision(await EtcdctlAsync("node2", "get", key + "/from-etcdctl", "-w", "json"));
        var read = await AspireKvCli.RunAsync(fixture, null, "-o", "json", "--target", "node3", "get", key + "/from-etcdctl");
        Assert.True(read.ExitCode == 0, read.Error);
        using (var json = JsonDocument.Parse(read.Output))
        {
            Assert.Equal("hello", json.RootElement.GetProperty("value").GetString());
            Assert.Equal(viaEtcdctl, json.RootElement.GetProperty("modRevision").GetInt64());
        }

        var put = await AspireKvCli.RunAsync(fixture, null, "-o", "json", "--target", "node2", "put", key + "/from-aspirekv", "world");
        Assert.True(put.ExitCode == 0, put.Error);
        var revision = JsonDocument.Parse(put.Output).RootElement.GetProperty("revision").GetInt64();
        var back = await EtcdctlAsync("node1", "get", key + "/from-aspirekv", "-w", "json");
        Assert.Equal(revision, ModRevision(back));
        Assert.Equal($"{key}/from-aspirekv\nworld", (await EtcdctlAsync("node3", "get", key + "/from-aspirekv")).Trim());
    }

    private static long ModRevision(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("kvs")[0].GetProperty("mod_revision").GetInt64();
    }

    private async Task<string> EtcdctlAsync(string node, params string[] arguments)
    {
        Assert.True(File.Exists(Etcdctl), $"This test drives Debian's etcdctl at {Etcdctl}; install it with: apt-get install -y etcd-client");
        var endpoint = fixture.App.GetEndpoint(node).ToString().TrimEnd('/');
        var (exitCode, output) = await ManagedProcess.RunToExitAsync(
            new ProcessSpec($"etcdctl-{node}", Etcdctl, ["--endpoints", endpoint, "--command-timeout", "15s", .. arguments]) { Environment = new Dictionary<string, string?> { ["ETCDCTL_API"] = "3" } },
            TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, $"etcdctl {string.Join(' ', arguments)} exited {exitCode}: {output}");
        return output;
    }
}
