using Aspire.Hosting.ApplicationModel;
using AspireKv.Hosting.RabbitMQ;
using AspireKv.Testing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AspireKv.IntegrationTests;

/// <summary>The AppHost's AMQP health check of a broker it only points at, against a real rabbitmq-server.</summary>
public sealed class AmqpHealthCheckTests
{
    [Fact]
    public async Task An_existing_broker_list_is_probed_broker_by_broker_and_is_healthy_only_while_a_majority_answers()
    {
        // Two "brokers" of one list, each a proxy of its own in front of one real broker. Found
        // reading an earlier change: a comma-separated list was read as one URI.
        using var folder = new TempDirectory("aspirekv-health-test");
        await using var broker = new RabbitMqServer("health", folder.Combine("broker"));
        await broker.StartAsync(TimeSpan.FromSeconds(120));
        var first = new TcpProxy("first", broker.AmqpPort);
        await using var second = new TcpProxy("second", broker.AmqpPort);
        var credentials = new Uri(broker.ConnectionString).UserInfo;
        var check = new AmqpHealthCheck(new ExistingBroker($"amqp://{credentials}@127.0.0.1:{first.Port},amqp://{credentials}@127.0.0.1:{second.Port}"));

        var both = await check.CheckHealthAsync(new HealthCheckContext());
        await first.DisposeAsync(); // one of two left: not a majority
        var one = await check.CheckHealthAsync(new HealthCheckContext());
        var wrong = await new AmqpHealthCheck(new ExistingBroker($"amqp://guest:wrong@127.0.0.1:{second.Port}")).CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Healthy, both.Status);
        Assert.Equal("all 2 brokers answer AMQP", both.Description);
        Assert.Equal(HealthStatus.Unhealthy, one.Status);
        Assert.Contains($"127.0.0.1:{first.Port} cannot be reached", one.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, wrong.Status);
        Assert.DoesNotContain("wrong", wrong.Description, StringComparison.Ordinal);
    }

    private sealed class ExistingBroker(string connectionString) : Resource("messaging"), IResourceWithConnectionString
    {
        public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{connectionString}");
    }
}
