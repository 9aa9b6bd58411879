using AspireKv.Client;
using AspireKv.V1;
using Grpc.Net.ClientFactory;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The AspireKv client integration, in the manner of .NET Aspire's: <c>builder.AddKeyValueClient("node1")</c>
/// registers a <see cref="KvClient"/> (and the generated <see cref="KeyValue.KeyValueClient"/>) for the
/// node that service discovery knows as <c>node1</c>. Its address is <c>http://_grpc.node1</c>: the
/// <c>grpc</c> endpoint of service <c>node1</c>, which Microsoft.Extensions.ServiceDiscovery resolves
/// from <c>services__node1__grpc__0</c>, the configuration an AppHost gives every resource that
/// references the node.
/// </summary>
public static class KeyValueClientExtensions
{
    /// <summary>The node's endpoint that serves gRPC, as the AppHost names it.</summary>
    public const string GrpcEndpointName = "grpc";

    /// <summary>Registers <see cref="KvClient"/> and <see cref="KeyValue.KeyValueClient"/> for the node named <paramref name="name"/>.</summary>
    public static IHttpClientBuilder AddKeyValueClient(this IHostApplicationBuilder builder, string name, Action<KvClientOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var http = AddGrpcClient(builder, name, clientName: null);
        builder.Services.AddTransient(sp => new KvClient(sp.GetRequiredService<KeyValue.KeyValueClient>(), Options(configure)));
        return http;
    }

    /// <summary>
    /// Registers a <see cref="KvClient"/> for the node named <paramref name="name"/> as a keyed
    /// service with that name, so that one app can hold clients of several nodes:
    /// <c>[FromKeyedServices("node2")] KvClient node2</c>.
    /// </summary>
    public static IHttpClientBuilder AddKeyedKeyValueClient(this IHostApplicationBuilder builder, string name, Action<KvClientOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var clientName = $"aspirekv:{name}";
        var http = AddGrpcClient(builder, name, clientName);
        builder.Services.AddKeyedTransient(name, (sp, _) =>
            new KvClient(sp.GetRequiredService<GrpcClientFactory>().CreateClient<KeyValue.KeyValueClient>(clientName), Options(configure)));
        return http;
    }

    /// <summary>The address service discovery resolves to <paramref name="name"/>'s gRPC endpoint.</summary>
    public static Uri ServiceAddress(string name) => new($"http://_{GrpcEndpointName}.{name}");

    private static IHttpClientBuilder AddGrpcClient(IHostApplicationBuilder builder, string name, string? clientName)
    {
        // Service discovery is added here too, so that the client works in an app without the
        // service defaults; registering it twice is harmless.
        builder.Services.AddServiceDiscovery();
        var http = clientName is null
            ? builder.Services.AddGrpcClient<KeyValue.KeyValueClient>(o => o.Address = ServiceAddress(name))
            : builder.Services.AddGrpcClient<KeyValue.KeyValueClient>(clientName, o => o.Address = ServiceAddress(name));
        return http.ConfigurePrimaryHttpMessageHandler(() => new HttpClientHandler { UseProxy = false })
            .AddServiceDiscovery();
    }

    private static KvClientOptions Options(Action<KvClientOptions>? configure)
    {
        var options = new KvClientOptions();
        configure?.Invoke(options);
        return options;
    }
}
