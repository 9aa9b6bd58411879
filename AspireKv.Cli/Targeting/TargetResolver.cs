using AspireKv.Client.Discovery;
using AspireKv.Grpc.Client;
using Microsoft.Extensions.Configuration;

namespace AspireKv.Cli.Targeting;

/// <summary>A node to talk to: its name when it has one, and its gRPC address.</summary>
internal sealed record Target(string Name, Uri Address)
{
    public override string ToString() => Name == Address.ToString().TrimEnd('/') ? Name : $"{Name} ({Address.ToString().TrimEnd('/')})";
}

/// <summary>
/// Finds nodes by name or address. Names come from <c>.aspirekv/endpoints.json</c> (the one in
/// the current folder or a parent, or the file <c>ASPIREKV_ENDPOINTS</c> names), then from
/// <c>services__&lt;name&gt;__grpc__0</c> configuration as Aspire gives it.
/// </summary>
internal sealed class TargetResolver
{
    /// <summary>Where a node listens when run on its own with its defaults.</summary>
    public static readonly Uri StandaloneAddress = new("http://127.0.0.1:5001");

    private readonly string? _endpointsPath;
    private readonly EndpointsFile? _endpoints;
    private readonly ServiceEndpoints _services;

    public TargetResolver(string currentFolder, IConfiguration configuration)
    {
        _endpointsPath = EndpointsFile.Locate(currentFolder);
        if (_endpointsPath is not null && File.Exists(_endpointsPath))
        {
            _endpoints = EndpointsFile.Load(_endpointsPath);
        }

        _services = new ServiceEndpoints(configuration);
    }

    public static TargetResolver FromEnvironment() =>
        new(Directory.GetCurrentDirectory(), new ConfigurationBuilder().AddEnvironmentVariables().Build());

    /// <summary>The discovery file in use, if any.</summary>
    public string? EndpointsPath => _endpoints is null ? null : _endpointsPath;

    public EndpointsFile? Endpoints => _endpoints;

    /// <summary>Every node known by name, in name order.</summary>
    public IReadOnlyList<Target> KnownNodes()
    {
        var nodes = new SortedDictionary<string, Target>(StringComparer.Ordinal);
        if (_endpoints is not null)
        {
            foreach (var (name, entry) in _endpoints.Resources)
            {
                if (entry.Endpoints.TryGetValue("grpc", out var address))
                {
                    nodes.TryAdd(name, new Target(name, new Uri(address)));
                }
            }
        }

        foreach (var endpoint in _services.GetAll().Where(e => e.EndpointName == "grpc"))
        {
            nodes.TryAdd(endpoint.Service, new Target(endpoint.Service, endpoint.Address));
        }

        return [.. nodes.Values];
    }

    /// <summary>
    /// The node <paramref name="target"/> names: a known name, or an address
    /// (<c>http://host:port</c> or <c>host:port</c>). Without one, the first known node, or the
    /// address a node listens on by default.
    /// </summary>
    public Target Resolve(string? target)
    {
        if (string.IsNullOrWhiteSpace(target))
        {
            return KnownNodes().FirstOrDefault() ?? new Target(StandaloneAddress.ToString().TrimEnd('/'), StandaloneAddress);
        }

        if (target.Contains(':', StringComparison.Ordinal) || target.Contains('/', StringComparison.Ordinal))
        {
            try
            {
                var address = GrpcChannel.ParseAddress(target);
                return new Target(address.ToString().TrimEnd('/'), address);
            }
            catch (ArgumentException ex)
            {
                throw new CliException(ExitCodes.Usage, ex.Message);
            }
        }

        var known = KnownNodes();
        if (known.FirstOrDefault(n => string.Equals(n.Name, target, StringComparison.OrdinalIgnoreCase)) is { } node)
        {
            return node;
        }

        throw new CliException(ExitCodes.Usage, known.Count > 0
            ? $"There is no node named '{target}'; the known nodes are {string.Join(", ", known.Select(n => n.Name))}{Source()}."
            : $"'{target}' is not a node this CLI knows: no running AppHost was found ({EndpointsFile.FolderName}/{EndpointsFile.FileName} in this folder or above, " +
              $"or {EndpointsFile.EnvironmentVariable}), and no services__{target}__grpc__0 is set. Start one with: dotnet run --project AspireKv.AppHost, " +
              "or give an address such as 127.0.0.1:5001.");
    }

    private string Source() => EndpointsPath is { } path ? $" (from {path})" : " (from services__ configuration)";
}
