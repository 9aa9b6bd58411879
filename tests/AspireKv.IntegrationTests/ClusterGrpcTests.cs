using System.Text.Json;
using AspireKv.Client;
using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AspireKv.IntegrationTests;

/// <summary>The node's gRPC surface against the three-node cluster: health, deadlines, and the client integration.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterGrpcTests(ClusterFixture cluster)
{
    private static readonly string[] HealthServices = [string.Empty, "aspirekv.v1.KeyValue"];

    [Fact]
    public async Task Standard_health_client_sees_serving_then_not_serving_while_the_broker_is_gone()
    {
        var node1 = $"127.0.0.1:{cluster.Nodes["node1"].Spec.GrpcPort}";
        await AssertHealthAsync(node1, "SERVING");

        await cluster.Broker.StopAsync();
        try
        {
            await AssertHealthAsync(node1, "NOT_SERVING");
            var unknown = await NodeInterop.RunAsync("health.js", node1, "no.such.Service");
            Assert.StartsWith("error NOT_FOUND", unknown.GetProperty("no.such.Service").GetString());
        }
        finally
        {
            await cluster.Broker.StartAsync(ClusterFixture.StartTimeout);
        }

        await AssertHealthAsync(node1, "SERVING");
    }

    [Fact]
    public async Task Calls_held_up_by_a_paused_broker_end_at_their_deadline_and_are_not_logged_as_errors()
    {
        await cluster.WaitForConvergenceAsync(TimeSpan.FromSeconds(60));
        var node = cluster.Nodes["node1"];
        var client = cluster.Client("node1");
        var paused = DateTimeOffset.UtcNow;
        cluster.Broker.Pause();
        try
        {
            var get = await Assert.ThrowsAsync<RpcException>(() => client.GetAsync("deadline/key", timeout: TimeSpan.FromSeconds(1)));
            var put = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync("deadline/key", "late", timeout: TimeSpan.FromSeconds(1)));
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            var cancelled = await Assert.ThrowsAsync<RpcException>(() => client.GetAsync("deadline/key", cancellationToken: cancel.Token));

            Assert.Equal(StatusCode.DeadlineExceeded, get.StatusCode);
            Assert.Equal(StatusCode.DeadlineExceeded, put.StatusCode);
            Assert.Equal(StatusCode.Cancelled, cancelled.StatusCode);
        }
        finally
        {
            cluster.Broker.Resume();
        }

        // The node is fine, and said nothing at error level about calls its clients gave up on.
        Assert.True((await client.PutAsync("deadline/after", "ok", timeout: TimeSpan.FromSeconds(30))).Revision > 0);
        var errors = node.Process!.RecentOutput.Where(l => l.Time >= paused && (l.Text.StartsWith("fail:", StringComparison.Ordinal) || l.Text.Contains("   at ", StringComparison.Ordinal))).ToList();
        Assert.True(errors.Count == 0, string.Join('\n', errors.Select(l => l.Text)));
    }

    [Fact]
    public async Task Client_integration_finds_node2_through_service_discovery()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["services:node2:grpc:0"] = cluster.Nodes["node2"].Spec.GrpcAddress.ToString(),
        });
        builder.AddServiceDefaults();
        builder.AddKeyValueClient("node2");
        using var host = builder.Build();

        var client = host.Services.GetRequiredService<KvClient>();
        var put = await client.PutAsync("discovery/key", "through service discovery");
        var got = await client.GetAsync("discovery/key");
        var status = await host.Services.GetRequiredService<KeyValue.KeyValueClient>().StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10));

        Assert.Equal("through service discovery", got.Entry.Value.ToStringUtf8());
        Assert.Equal(put.Revision, got.Entry.ModRevision);
        Assert.Equal("node2", status.NodeId);
    }

    private static async Task AssertHealthAsync(string target, string expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement seen;
        do
        {
            seen = await NodeInterop.RunAsync("health.js", [target, .. HealthServices]);
            if (HealthServices.All(s => seen.GetProperty(s).GetString() == expected))
            {
                return;
            }

            await Task.Delay(500);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"The health service did not say {expected} for {string.Join(", ", HealthServices.Select(s => $"'{s}'"))} within 60 s; it said {seen}.");
    }
}
