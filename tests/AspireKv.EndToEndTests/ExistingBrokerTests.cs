using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Broker;
using AspireKv.Hosting.Processes;
using AspireKv.Hosting.Testing;

namespace AspireKv.EndToEndTests;

public sealed class ExistingBrokerTests
{
    [Fact]
    public async Task ConnectionStrings_messaging_makes_the_AppHost_use_that_broker_and_leave_it_running()
    {
        using var folder = new TempDirectory("aspirekv-existing-broker");
        await using var broker = new RabbitMqServer("existing", folder.Combine("broker"));
        await broker.StartAsync(TimeSpan.FromSeconds(120));

        await using (var app = await DistributedApplicationTestingBuilder.StartAsync<Program>(
            ["--replicas", "2"],
            new Dictionary<string, string?> { ["ConnectionStrings:messaging"] = broker.ConnectionString }))
        {
            var messaging = app.Application.GetResource<RabbitMqResource>("messaging");
            Assert.Equal(BrokerSource.Existing, messaging.Source);
            Assert.False(messaging.IsManaged);
            Assert.Equal(["messaging", "node1", "node2"], app.Resources.Select(r => r.Name));

            await app.CreateKvClient("node1").PutAsync("existing/key", "value");
            Assert.Equal("value", await app.CreateKvClient("node2").GetStringAsync("existing/key"));
            await Assert.ThrowsAsync<InvalidOperationException>(() => app.KillAsync("messaging"));
        }

        Assert.True(broker.IsRunning, "the AppHost stopped a broker it does not own");
    }
}
