using AspireKv.Hosting.RabbitMQ;

namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A private rabbitmq-server as a process under DCP, where no container runtime answers (<see cref="BrokerLayout"/>);
/// its connection string has the shape of Aspire's container's: <c>amqp://guest:PASSWORD@127.0.0.1:PORT</c>.
/// </summary>
public sealed class RabbitMQServerProcessResource : ExecutableResource, IResourceWithConnectionString
{
    internal RabbitMQServerProcessResource(string name, BrokerLayout layout, ParameterResource password)
        : base(name, BrokerLayout.ServerScript, layout.DataRoot)
    {
        Layout = layout;
        PasswordParameter = password;
    }

    /// <summary>The broker's node name, ports and folders.</summary>
    public BrokerLayout Layout { get; }

    /// <summary>The secret parameter that holds the password of user <c>guest</c>.</summary>
    public ParameterResource PasswordParameter { get; }

    /// <summary>The cluster this broker belongs to; null for a broker on its own.</summary>
    public RabbitMQClusterResource? Cluster { get; internal set; }

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"amqp://{BrokerLayout.User}:{PasswordParameter}@127.0.0.1:{Layout.AmqpPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
}

/// <summary>
/// Private rabbitmq-server processes joined into one RabbitMQ cluster, each a child resource; its
/// connection string lists every broker's AMQP URI, comma-separated, for a node to fail over along.
/// </summary>
public sealed class RabbitMQClusterResource(string name, BrokerClusterIdentity identity) : Resource(name), IResourceWithConnectionString, IResourceWithWaitSupport
{
    /// <summary>The port mapper, cookie and password the brokers share.</summary>
    public BrokerClusterIdentity Identity { get; } = identity;

    public List<RabbitMQServerProcessResource> Brokers { get; } = [];

    public ReferenceExpression ConnectionStringExpression
    {
        get
        {
            var expression = new ReferenceExpressionBuilder();
            foreach (var broker in Brokers)
            {
                if (!expression.IsEmpty)
                {
                    expression.AppendLiteral(",");
                }

                expression.Append($"{broker.ConnectionStringExpression}");
            }

            return expression.Build();
        }
    }
}

/// <summary>The names the process brokers' resources use.</summary>
internal static class RabbitMQProcessNames
{
    public const string AmqpEndpoint = "amqp";
    public const string ManagementEndpoint = "management";
    public const string KillCommand = "kill";
}
