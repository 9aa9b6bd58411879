using AspireKv.Testing;

namespace AspireKv.EndToEndTests;

public sealed class ExistingBrokerTests
{
    [Fact]
    public async Task ConnectionStrings_messaging_makes_the_AppHost_use_that_broker_and_leave_it_running()
    {
        using var folder = new TempDirectory("aspirekv-existing-broker");
        await using var broker = new RabbitMqServer("existing", folder.Combine("broker"));
        await broker.StartAsync(TimeSpan.FromSeconds(120));

        await using (var app = await AspireKvApp.StartAsync(["--Replicas=2", "--Spares=0", $"--ConnectionStrings:messaging={broker.ConnectionString}", $"--Replication:StreamEndpoints=127.0.0.1:{broker.Layout.StreamPort}"]))
        {
            Assert.Equal(["kv", "messaging", "node1", "node2"], app.Resources.Where(r => !r.Name.EndsWith("-rebuilder", StringComparison.Ordinal)).Select(r => r.Name).Order());
            Assert.Equal("ConnectionStringParameterResource", app.GetResource("messaging").GetType().Name);

            await app.CreateKvClient("node1").PutAsync("existing/key", "value");
            Assert.Equal("value", await app.CreateKvClient("node2").GetStringAsync("existing/key"));
            await Assert.ThrowsAsync<InvalidOperationException>(() => app.KillAsync("messaging"));
            Assert.Equal(broker.ConnectionString, app.Endpoints().Resources["messaging"].ConnectionString);
        }

        Assert.True(broker.IsRunning, "the AppHost stopped a broker it does not own");
    }
}
