using System.Net;
using AspireKv.Client;
using AspireKv.Client.Discovery;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.ServiceDiscovery;

namespace AspireKv.Cli.Targeting;

/// <summary>A node to talk to: its name when it has one, and its gRPC address.</summary>
/// <param name="Name">The node's name, or its address when it has none.</param>
/// <param name="Address">Its gRPC address.</param>
/// <param name="IsGuess">Nothing named a node and no AppHost was found: this is where a node listens on its own by default.</param>
internal sealed record Target(string Name, Uri Address, bool IsGuess = false)
{
    public override string ToString() => Name == Address.ToString().TrimEnd('/') ? Name : $"{Name} ({Address.ToString().TrimEnd('/')})";
}

/// <summary>
/// Finds nodes by name or address. Names resolve through Microsoft.Extensions.ServiceDiscovery
/// (<c>http://_grpc.node2</c>), over configuration made of Aspire's <c>services__node2__grpc__0</c>
/// variables and the running AppHost's <c>.aspirekv/endpoints.json</c> (the one in the current
/// folder or a parent, or the file <c>ASPIREKV_ENDPOINTS</c> names), which the variables override.
/// </summary>
internal sealed class TargetResolver : IAsyncDisposable
{
    /// <summary>Where a node listens when run on its own with its defaults.</summary>
    public static readonly Uri StandaloneAddress = new("http://127.0.0.1:5001");

    private readonly ServiceProvider _services;
    private readonly ServiceEndpointResolver _resolver;

    public TargetResolver(string currentFolder, IConfiguration environment)
    {
        var configuration = new ConfigurationBuilder();
        if (EndpointsFile.Locate(currentFolder) is { } path && File.Exists(path))
        {
            EndpointsPath = path;
            Endpoints = EndpointsFile.Load(path);
            configuration.AddInMemoryCollection(Endpoints.ToConfiguration());
        }

        configuration.AddConfiguration(environment);
        Configuration = configuration.Build();
        _services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(Configuration)
            .AddServiceDiscoveryCore()
            .AddConfigurationServiceEndpointProvider()
            .BuildServiceProvider();
        _resolver = _services.GetRequiredService<ServiceEndpointResolver>();
    }

    public static TargetResolver FromEnvironment() =>
        new(Directory.GetCurrentDirectory(), new ConfigurationBuilder().AddEnvironmentVariables().Build());

    /// <summary>The discovery file in use, if any.</summary>
    public string? EndpointsPath { get; }

    public EndpointsFile? Endpoints { get; }

    /// <summary>What the CLI knows: the endpoints file as Aspire configuration, overridden by the environment.</summary>
    public IConfiguration Configuration { get; }

    /// <summary>Every node known by name, in name order.</summary>
    public IReadOnlyList<Target> KnownNodes() =>
        [.. ConfiguredServices.List(Configuration, KeyValueClientExtensions.GrpcEndpointName).Select(e => new Target(e.Service, e.Address))];

    /// <summary>
    /// The node <paramref name="target"/> names: an address (<c>http://host:port</c> or
    /// <c>host:port</c>), or a name that service discovery resolves. Without one, the first known
    /// node, or the address a node listens on by default.
    /// </summary>
    public async Task<Target> ResolveAsync(string? target, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(target))
        {
            return KnownNodes().FirstOrDefault() ?? new Target(StandaloneAddress.ToString().TrimEnd('/'), StandaloneAddress, IsGuess: true);
        }

        if (target.Contains(':', StringComparison.Ordinal) || target.Contains('/', StringComparison.Ordinal))
        {
            try
            {
                var address = KvClient.ParseAddress(target);
                return new Target(address.ToString().TrimEnd('/'), address);
            }
            catch (ArgumentException ex)
            {
                throw new CliException(ExitCodes.Usage, ex.Message);
            }
        }

        var known = KnownNodes();
        var name = known.FirstOrDefault(n => string.Equals(n.Name, target, StringComparison.OrdinalIgnoreCase))?.Name ?? target;
        if (await TryResolveAsync(name, cancellationToken).ConfigureAwait(false) is { } resolved)
        {
            return new Target(name, resolved);
        }

        throw new CliException(ExitCodes.Usage, known.Count > 0
            ? $"There is no node named '{target}'; the known nodes are {string.Join(", ", known.Select(n => n.Name))}{Source()}."
            : $"'{target}' is not a node this CLI knows: {NoAppHost}, and no services__{target}__grpc__0 is set. {HowToStart}");
    }

    /// <summary>What was looked for and not found, for messages.</summary>
    public static string NoAppHost =>
        $"no running AppHost was found ({EndpointsFile.FolderName}/{EndpointsFile.FileName} in this folder or above, or {EndpointsFile.EnvironmentVariable})";

    /// <summary>What to do about it.</summary>
    public static string HowToStart =>
        "Start one with: dotnet run --project AspireKv.AppHost (in the repository folder), or name a node with --target, such as --target 127.0.0.1:5001.";

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private async Task<Uri?> TryResolveAsync(string name, CancellationToken cancellationToken)
    {
        ServiceEndpointSource source;
        try
        {
            source = await _resolver.GetEndpointsAsync(KeyValueClientExtensions.ServiceAddress(name).ToString(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            return null;
        }

        return source.Endpoints.Select(e => e.EndPoint).FirstOrDefault() switch
        {
            UriEndPoint uri => new Uri(uri.Uri.GetLeftPart(UriPartial.Authority)),
            IPEndPoint ip => new Uri($"http://{ip}"),
            DnsEndPoint dns => new Uri($"http://{dns.Host}:{dns.Port}"),
            _ => null,
        };
    }

    private string Source() => EndpointsPath is { } path ? $" (from {path})" : " (from services__ configuration)";
}
