using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AspireKv.Hosting.KeyValueStore;

/// <summary>
/// A node's own verdict, from <c>/health</c>: Healthy while it serves, Degraded while only
/// serializable reads work (it lost its broker), Unhealthy with the node's reason otherwise.
/// </summary>
internal sealed class NodeHealthCheck(string node, Uri address) : IHealthCheck
{
    private static readonly HttpClient Client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await Client.GetAsync(new Uri(address, "/health"), cancellationToken).ConfigureAwait(false);
            var lines = (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var detail = string.Join("; ", lines.Skip(1));
            return lines.FirstOrDefault() switch
            {
                "Healthy" => HealthCheckResult.Healthy($"{node} is serving"),
                "Degraded" => HealthCheckResult.Degraded(detail),
                _ => HealthCheckResult.Unhealthy(detail.Length > 0 ? detail : $"{node} answered {(int)response.StatusCode}"),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"{node} does not answer at {address}: {ex.Message}");
        }
    }
}

/// <summary>A store is healthy while a majority of its started nodes are: a client that reaches one of them is served.</summary>
internal sealed class StoreHealthCheck(KeyValueStoreResource store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = store.Nodes
            .Select(n => store.NodeStates.GetValueOrDefault(n.Name))
            .Where(s => s is not null && s.State?.Text is not (null or "NotStarted"))
            .ToList();
        var healthy = started.Count(s => s!.HealthStatus == HealthStatus.Healthy);
        var summary = $"{healthy} of {started.Count} started nodes serve";
        return Task.FromResult(started.Count > 0 && healthy * 2 > started.Count ? HealthCheckResult.Healthy(summary)
            : healthy > 0 ? HealthCheckResult.Degraded(summary)
            : HealthCheckResult.Unhealthy(summary));
    }
}
