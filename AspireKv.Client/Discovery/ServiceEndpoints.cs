using Microsoft.Extensions.Configuration;

namespace AspireKv.Client.Discovery;

/// <summary>One named endpoint of a service, such as node2's <c>grpc</c> endpoint.</summary>
public sealed record ServiceEndpoint(string Service, string EndpointName, Uri Address);

/// <summary>
/// Service discovery from configuration, in the shape .NET Aspire hands to every resource:
/// <c>services__node2__grpc__0=http://127.0.0.1:5002</c> becomes <c>services:node2:grpc:0</c>.
/// </summary>
public sealed class ServiceEndpoints
{
    private readonly IConfiguration _configuration;

    public ServiceEndpoints(IConfiguration configuration) => _configuration = configuration;

    /// <summary>Every endpoint that configuration names, ordered by service and endpoint name.</summary>
    public IReadOnlyList<ServiceEndpoint> GetAll()
    {
        var endpoints = new List<ServiceEndpoint>();
        foreach (var service in _configuration.GetSection("services").GetChildren())
        {
            foreach (var endpoint in service.GetChildren())
            {
                foreach (var address in endpoint.GetChildren())
                {
                    if (Uri.TryCreate(address.Value, UriKind.Absolute, out var uri))
                    {
                        endpoints.Add(new ServiceEndpoint(service.Key, endpoint.Key, uri));
                    }
                }
            }
        }

        return [.. endpoints.OrderBy(e => e.Service, StringComparer.Ordinal).ThenBy(e => e.EndpointName, StringComparer.Ordinal)];
    }

    /// <summary>The first address of <paramref name="service"/>'s <paramref name="endpointName"/> endpoint, or null.</summary>
    public Uri? Resolve(string service, string endpointName = "grpc") =>
        GetAll().FirstOrDefault(e => string.Equals(e.Service, service, StringComparison.OrdinalIgnoreCase)
            && string.Equals(e.EndpointName, endpointName, StringComparison.OrdinalIgnoreCase))?.Address;
}
