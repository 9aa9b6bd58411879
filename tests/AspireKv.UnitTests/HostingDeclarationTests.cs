using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using AspireKv.Hosting.AppHost;
using AspireKv.Hosting.RabbitMQ;
using TempDirectory = AspireKv.Testing.TempDirectory;

namespace AspireKv.UnitTests;

/// <summary>What AspireKv's Aspire integrations declare, read off the application model before anything runs.</summary>
public sealed class HostingDeclarationTests
{
    [Theory]
    [InlineData(true, 1, true, BrokerSource.Existing)]
    [InlineData(true, 3, false, BrokerSource.Existing)]
    [InlineData(false, 1, true, BrokerSource.Container)]
    [InlineData(false, 3, true, BrokerSource.Process)] // the container image does not form a cluster
    [InlineData(false, 1, false, BrokerSource.Process)]
    public void The_broker_comes_from_its_connection_string_else_a_container_else_private_processes(bool connectionString, int size, bool runtime, BrokerSource expected) =>
        Assert.Equal(expected, BrokerSources.Decide(connectionString, size, runtime));

    [Fact]
    public void A_store_declares_replicas_and_explicitly_started_spares_under_it_on_fixed_loopback_ports_with_the_chaos_commands()
    {
        using var state = new TempDirectory("aspirekv-declaration-test");
        var builder = DistributedApplication.CreateBuilder([$"--StateDirectory={state.Combine("state")}", $"--EndpointsFile={state.Combine("endpoints.json")}"]);
        try
        {
            var queue = builder.AddRabbitMQBroker("queue").WithClusterSize(3);
            var kv = builder.AddKeyValueStore("kv").WithReplicas(2).WithSpares(1).WithReference(queue).WaitFor(queue).WithEnvironment("Node__SnapshotInterval", "00:00:05");

            var nodes = kv.Resource.Nodes;
            Assert.Equal(["node1", "node2", "node3"], nodes.Select(n => n.Name));
            Assert.Equal(["node1", "node2"], kv.Resource.ReplicaNodes.Select(n => n.Name));
            Assert.False(nodes[1].TryGetAnnotationsOfType<ExplicitStartupAnnotation>(out _));
            Assert.True(nodes[2].TryGetAnnotationsOfType<ExplicitStartupAnnotation>(out _), "the spare starts only when asked");
            Assert.All(nodes, n => Assert.Contains(n.Annotations.OfType<ResourceRelationshipAnnotation>(), a => a.Type == "Parent" && a.Resource == kv.Resource));
            Assert.All(nodes, n => Assert.Contains(n.Annotations.OfType<WaitAnnotation>(), w => w.Resource == queue.Resource));
            Assert.All(nodes, n => Assert.Equal(["pause", "resume", "kill", "leave"], n.Annotations.OfType<ResourceCommandAnnotation>().Select(c => c.Name).Where(c => c is "pause" or "resume" or "kill" or "leave")));
            var endpoints = nodes[0].Annotations.OfType<EndpointAnnotation>().ToList();
            Assert.Equal(["grpc", "http"], endpoints.Select(e => e.Name));
            Assert.All(endpoints, e => Assert.False(e.IsProxied, $"{e.Name} goes through DCP's proxy"));
            Assert.All(endpoints, e => Assert.Equal("127.0.0.1", e.TargetHost));
            Assert.Equal("http2", endpoints[0].Transport);

            // WithClusterSize(3) declares three brokers under the cluster, with one port mapper and one password.
            var cluster = Assert.IsType<RabbitMQClusterResource>(queue.Resource);
            Assert.Equal(["queue-1", "queue-2", "queue-3"], cluster.Brokers.Select(b => b.Name));
            Assert.Equal(3, cluster.Brokers.Select(b => b.Layout.AmqpPort).Distinct().Count());
            Assert.Single(builder.Resources, r => r.Name == "queue-epmd");
            Assert.IsType<ParameterResource>(builder.Resources.Single(r => r.Name == "queue-password"));
            Assert.True(((ParameterResource)builder.Resources.Single(r => r.Name == "queue-password")).Secret);
        }
        finally
        {
            AppHostFolder.Of(builder).ReleaseLocks();
        }
    }
}
