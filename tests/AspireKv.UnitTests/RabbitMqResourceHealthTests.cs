using System.Net;
using System.Net.Sockets;
using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Orchestration;
using AspireKv.Hosting.Processes;
using Microsoft.Extensions.Configuration;

namespace AspireKv.UnitTests;

/// <summary>The health of a broker the AppHost only points at, probed where its connection string says.</summary>
public sealed class RabbitMqResourceHealthTests
{
    [Fact]
    public async Task An_existing_broker_list_on_another_address_is_probed_there_and_is_healthy()
    {
        // Two "brokers" on 127.0.0.2, which is loopback but not 127.0.0.1: a probe of 127.0.0.1 finds
        // nothing there. Found reading the change: the probe had been narrowed to 127.0.0.1, and a
        // comma-separated list was read as one URI.
        using var first = new TcpListener(IPAddress.Parse("127.0.0.2"), 0);
        using var second = new TcpListener(IPAddress.Parse("127.0.0.2"), 0);
        first.Start();
        second.Start();
        using var state = new TempDirectory("aspirekv-health-test");
        var port = (TcpListener l) => ((IPEndPoint)l.LocalEndpoint).Port;
        var messaging = new RabbitMqResource("messaging");
        var context = new DistributedApplicationContext
        {
            Configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:messaging"] = $"amqp://u:p@127.0.0.2:{port(first)},amqp://u:p@127.0.0.2:{port(second)}",
            }).Build(),
            StateDirectory = state.Path,
            ProjectPath = _ => string.Empty,
            Resources = [messaging],
        };

        var orchestrator = new Orchestrator(context);

        await orchestrator.StartAllAsync(context.Resources, CancellationToken.None);

        Assert.Equal(ResourceHealth.Healthy, await orchestrator.CheckHealthAsync(messaging, CancellationToken.None));
        second.Stop(); // one of two left: not a majority
        Assert.Equal(ResourceHealth.Unhealthy, await orchestrator.CheckHealthAsync(messaging, CancellationToken.None));
    }
}
