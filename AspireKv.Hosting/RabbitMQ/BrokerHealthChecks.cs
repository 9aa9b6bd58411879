using System.Net.Sockets;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;

namespace AspireKv.Hosting.RabbitMQ;

/// <summary>
/// A real AMQP check of a broker, or of each broker of a comma-separated list: a connection opened
/// with its credentials and closed again. Healthy when every broker answers; degraded while a
/// majority does (the stream still takes writes); unhealthy otherwise, with the reason.
/// </summary>
internal sealed class AmqpHealthCheck(IResourceWithConnectionString broker) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var connectionString = await broker.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return HealthCheckResult.Unhealthy($"{broker.Name} has no connection string.");
        }

        var uris = connectionString.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var reasons = new List<string>();
        foreach (var text in uris)
        {
            if (await ProbeAsync(text, cancellationToken).ConfigureAwait(false) is { } reason)
            {
                reasons.Add(reason);
            }
        }

        var up = uris.Length - reasons.Count;
        return up == uris.Length ? HealthCheckResult.Healthy(uris.Length == 1 ? "the broker answers AMQP" : $"all {uris.Length} brokers answer AMQP")
            : up > uris.Length / 2 ? HealthCheckResult.Degraded($"{up} of {uris.Length} brokers answer, a majority: {string.Join("; ", reasons)}")
            : HealthCheckResult.Unhealthy(string.Join("; ", reasons));
    }

    /// <summary>Null when an AMQP connection to <paramref name="text"/> opens; otherwise why not.</summary>
    internal static async Task<string?> ProbeAsync(string text, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
        {
            return $"'{Redact(text)}' is not an AMQP URI (amqp://user:password@host:port)";
        }

        var where = $"{uri.Scheme}://{uri.Host}:{(uri.IsDefaultPort ? 5672 : uri.Port)}";
        var factory = new ConnectionFactory
        {
            Uri = uri,
            AutomaticRecoveryEnabled = false,
            RequestedConnectionTimeout = Timeout,
            ClientProvidedName = "aspirekv-apphost-health",
        };
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(Timeout);
        try
        {
            await using var connection = await factory.CreateConnectionAsync(attempt.Token).ConfigureAwait(false);
            await connection.CloseAsync(attempt.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"the broker at {where} did not answer within {Timeout.TotalSeconds:0} s";
        }
        catch (Exception ex) when (ex is global::RabbitMQ.Client.Exceptions.BrokerUnreachableException or global::RabbitMQ.Client.Exceptions.OperationInterruptedException or SocketException or IOException)
        {
            return $"the broker at {where} cannot be reached: {Innermost(ex).Message}";
        }
    }

    private static Exception Innermost(Exception ex) => ex.InnerException is { } inner ? Innermost(inner) : ex;

    private static string Redact(string text) => Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0 ? text.Replace(uri.UserInfo, "***", StringComparison.Ordinal) : text;
}

/// <summary>Health checks registered for a resource's <c>WithHealthCheck(key)</c>.</summary>
internal static class ResourceHealthChecks
{
    public static string Register(IDistributedApplicationBuilder builder, string key, Func<IHealthCheck> check)
    {
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(key, _ => check(), null, null));
        return key;
    }
}

/// <summary>Healthy while something listens on a loopback port: the port mapper a broker registers with.</summary>
internal sealed class TcpPortHealthCheck(int port) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (SocketException ex)
        {
            return HealthCheckResult.Unhealthy($"nothing listens on port {port}: {ex.Message}");
        }
    }
}
