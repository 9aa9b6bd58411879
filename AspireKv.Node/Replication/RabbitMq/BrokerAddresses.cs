using AspireKv.Streams;
using RabbitMQ.Client;

namespace AspireKv.Node.Replication.RabbitMq;

/// <summary>
/// The brokers a node may use, from <c>ConnectionStrings:messaging</c>: one AMQP URI, as .NET
/// Aspire gives it, or several separated by commas, one per broker of a RabbitMQ cluster
/// (<c>amqp://user:pass@host1:5672,amqp://user:pass@host2:5672</c>). Every URI must carry the same
/// user, password and virtual host: they name one cluster.
/// </summary>
public sealed class BrokerAddresses
{
    private BrokerAddresses(Uri first, IReadOnlyList<AmqpTcpEndpoint> endpoints)
    {
        First = first;
        Endpoints = endpoints;
    }

    /// <summary>The first URI: its user, password, virtual host and TLS setting hold for every broker.</summary>
    public Uri First { get; }

    /// <summary>Every broker, in the order given.</summary>
    public IReadOnlyList<AmqpTcpEndpoint> Endpoints { get; }

    /// <summary>Checks the list and says what is wrong with it; the node refuses to start with a bad one.</summary>
    /// <param name="connectionString">The value of <c>ConnectionStrings:{name}</c>.</param>
    /// <param name="name">The connection string's name, for messages.</param>
    public static BrokerAddresses Parse(string connectionString, string name = "messaging")
    {
        var parts = connectionString.Split(',', StringSplitOptions.TrimEntries);
        var uris = new List<Uri>();
        foreach (var part in parts)
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps") || string.IsNullOrEmpty(uri.Host))
            {
                throw new InvalidOperationException(
                    $"ConnectionStrings:{name} '{Redact(connectionString)}' is not an AMQP URI, or a comma-separated list of them" +
                    (parts.Length > 1 ? $" ('{Redact(part)}' is not one)" : string.Empty) +
                    "; use amqp://user:password@host:port (optionally /vhost), and for a cluster one such URI per broker, separated by commas.");
            }

            uris.Add(uri);
        }

        var first = uris[0];
        if (uris.Skip(1).FirstOrDefault(u => u.Scheme != first.Scheme || u.UserInfo != first.UserInfo || u.AbsolutePath != first.AbsolutePath) is { } odd)
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{name} lists brokers with different schemes, users, passwords or virtual hosts ('{Redact(first.OriginalString)}' and '{Redact(odd.OriginalString)}'); " +
                "the brokers of one cluster share them, so every URI in the list must carry the same.");
        }

        var duplicate = uris.GroupBy(u => (u.Host.ToLowerInvariant(), u.Port)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"ConnectionStrings:{name} lists the broker {duplicate.Key.Item1}:{duplicate.Key.Port} more than once.");
        }

        var endpoints = uris.Select(u => new AmqpTcpEndpoint(
            u.Host,
            u.IsDefaultPort ? AmqpTcpEndpoint.UseDefaultPort : u.Port,
            new SslOption(u.Host, enabled: u.Scheme == "amqps"))).ToList();
        return new BrokerAddresses(first, endpoints);
    }

    /// <summary>
    /// Every broker's stream port, with the user, password and virtual host of <see cref="First"/>:
    /// <paramref name="configured"/> (<c>Replication:StreamEndpoints</c>, <c>host:port</c> separated
    /// by commas) when given, otherwise each broker's host at the stream protocol's port, 5552.
    /// </summary>
    public IReadOnlyList<StreamConnectionOptions> StreamEndpoints(string? configured)
    {
        var parts = string.IsNullOrWhiteSpace(configured)
            ? Endpoints.Select(e => $"{e.HostName}:5552").ToArray()
            : configured.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var credentials = First.UserInfo.Split(':', 2);
        var user = credentials[0].Length > 0 ? Uri.UnescapeDataString(credentials[0]) : "guest";
        var password = credentials.Length > 1 ? Uri.UnescapeDataString(credentials[1]) : "guest";
        var path = First.AbsolutePath.TrimStart('/');
        var virtualHost = path.Length == 0 ? "/" : Uri.UnescapeDataString(path);
        return parts.Select(part =>
        {
            try
            {
                return StreamConnectionOptions.Parse(part, user, password) with { VirtualHost = virtualHost };
            }
            catch (FormatException ex)
            {
                throw new InvalidOperationException($"Replication:StreamEndpoints '{configured}' is not a list of host:port, separated by commas: {ex.Message}.", ex);
            }
        }).ToList();
    }

    /// <summary>The connection string with passwords replaced by <c>***</c>, for messages.</summary>
    public static string Redact(string connectionString) =>
        string.Join(',', connectionString.Split(',').Select(part =>
            Uri.TryCreate(part.Trim(), UriKind.Absolute, out var uri) && !string.IsNullOrEmpty(uri.UserInfo)
                ? part.Replace(uri.UserInfo, "***", StringComparison.Ordinal)
                : part));
}
