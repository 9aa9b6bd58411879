using AspireKv.Node.Replication.RabbitMq;

namespace AspireKv.UnitTests;

/// <summary>ConnectionStrings:messaging as one broker (as Aspire gives it) or a cluster's comma-separated list.</summary>
public sealed class BrokerAddressesTests
{
    [Fact]
    public void One_URI_is_one_broker_with_its_credentials()
    {
        var brokers = BrokerAddresses.Parse("amqp://guest:secret@127.0.0.1:5673/vh");

        var endpoint = Assert.Single(brokers.Endpoints);
        Assert.Equal(("127.0.0.1", 5673), (endpoint.HostName, endpoint.Port));
        Assert.Equal("guest:secret", brokers.First.UserInfo);
    }

    [Fact]
    public void A_list_is_every_broker_in_order_and_a_missing_port_is_the_default()
    {
        var brokers = BrokerAddresses.Parse("amqp://u:p@10.0.0.1:5672, amqp://u:p@10.0.0.2 ,amqp://u:p@10.0.0.3:5700");

        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], brokers.Endpoints.Select(e => e.HostName));
        Assert.Equal([5672, 5672, 5700], brokers.Endpoints.Select(e => e.Port));
    }

    [Theory]
    [InlineData("amqp://u:p@a:1,amqp://u:other@b:2", "different schemes, users, passwords or virtual hosts")]
    [InlineData("amqp://u:p@a:1/x,amqp://u:p@b:2/y", "different schemes, users, passwords or virtual hosts")]
    [InlineData("amqp://u:p@a:1,http://b:2", "('http://b:2' is not one)")]
    [InlineData("amqp://u:p@a:1,", "is not an AMQP URI")]
    [InlineData("amqp://u:p@a:1,amqp://u:p@A:1", "lists the broker a:1 more than once")]
    public void A_bad_list_is_refused_with_the_reason_and_no_password(string connectionString, string reason)
    {
        var error = Assert.Throws<InvalidOperationException>(() => BrokerAddresses.Parse(connectionString));

        Assert.Contains(reason, error.Message);
        Assert.DoesNotContain("other", error.Message);
        Assert.DoesNotContain(":p@", error.Message);
    }

    [Fact]
    public void Stream_endpoints_default_to_each_brokers_host_at_5552_with_the_connection_strings_credentials_and_virtual_host()
    {
        var brokers = BrokerAddresses.Parse("amqp://kv%40user:p%3Ass@10.0.0.1:5672/prod,amqp://kv%40user:p%3Ass@10.0.0.2:5672/prod");

        var streams = brokers.StreamEndpoints(null);

        Assert.Equal(["10.0.0.1:5552", "10.0.0.2:5552"], streams.Select(s => s.Endpoint));
        Assert.All(streams, s => Assert.Equal(("kv@user", "p:ss", "prod"), (s.User, s.Password, s.VirtualHost)));
        Assert.Equal("/", Assert.Single(BrokerAddresses.Parse("amqp://u:p@h:1").StreamEndpoints(" ")).VirtualHost);
    }

    [Fact]
    public void Configured_stream_endpoints_replace_the_default_and_a_bad_one_is_refused_in_words()
    {
        var brokers = BrokerAddresses.Parse("amqp://u:p@10.0.0.1:5672");

        Assert.Equal(["127.0.0.1:20001", "127.0.0.1:20002"], brokers.StreamEndpoints("127.0.0.1:20001, 127.0.0.1:20002").Select(s => s.Endpoint));
        var error = Assert.Throws<InvalidOperationException>(() => brokers.StreamEndpoints("127.0.0.1:notaport"));
        Assert.Contains("Replication:StreamEndpoints", error.Message);
        Assert.Contains("port must be a number", error.Message);
    }
}
