using Microsoft.Extensions.Configuration;

namespace AspireKv.Client.Discovery;

/// <summary>One named endpoint of a service, such as node2's <c>grpc</c> endpoint.</summary>
public sealed record ServiceEndpoint(string Service, string EndpointName, Uri Address);

/// <summary>
/// The services that configuration names in the shape .NET Aspire hands to every resource
/// (<c>services__node2__grpc__0=http://127.0.0.1:5002</c>). Resolving one name is service
/// discovery's job (<c>http://_grpc.node2</c>); this lists them all, for a node's peer list and the
/// CLI's <c>status</c>.
/// </summary>
public static class ConfiguredServices
{
    /// <summary>The first address of every service's <paramref name="endpointName"/> endpoint, ordered by service name.</summary>
    public static IReadOnlyList<ServiceEndpoint> List(IConfiguration configuration, string endpointName = "grpc")
    {
        var endpoints = new List<ServiceEndpoint>();
        foreach (var service in configuration.GetSection("services").GetChildren())
        {
            var endpoint = service.GetSection(endpointName);
            var value = endpoint.Value ?? endpoint.GetChildren().OrderBy(c => c.Key, StringComparer.Ordinal).FirstOrDefault()?.Value;
            if (Uri.TryCreate(value, UriKind.Absolute, out var uri))
            {
                endpoints.Add(new ServiceEndpoint(service.Key, endpointName, uri));
            }
        }

        return [.. endpoints.OrderBy(e => e.Service, StringComparer.Ordinal)];
    }
}
