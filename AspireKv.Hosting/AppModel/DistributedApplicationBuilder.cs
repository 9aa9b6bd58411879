using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace AspireKv.Hosting.AppModel;

/// <summary>
/// Declares the resources of a distributed application, as .NET Aspire's builder does. Reads
/// configuration from the AppHost's appsettings.json, the environment and the command line.
/// </summary>
public sealed class DistributedApplicationBuilder
{
    public const string Usage = """
        Usage: dotnet run --project AspireKv.AppHost [-- options]

        Options:
          --replicas N          how many nodes to run (default 3; also the Replicas setting)
          --brokers N           run the broker as a RabbitMQ cluster of N private brokers (default 1;
                                also the Brokers setting; WithClusterSize in Program.cs overrides it)
          --state-dir PATH      where the broker and the nodes keep their data (default .aspirekv/state)
          --reset               delete that state before starting
          --no-dashboard        do not serve the dashboard
          --dashboard-port N    the dashboard's port on loopback (default 18888)
          --verbose             also print the broker's own output (always in its console log on the dashboard)
          --no-broker-install   never install rabbitmq-server (by default, with no broker and no
                                Docker, it is installed with apt as root or through sudo)
          --help                show this

        An existing broker instead of a private one: ConnectionStrings__messaging=amqp://user:pass@host:5672
        (an existing cluster: one URI per broker, separated by commas)
        """;

    private readonly List<Resource> _resources = [];
    private readonly Assembly _appHost;
    private readonly int _replicas;
    private readonly int _brokers;

    /// <summary>
    /// Reads configuration from the AppHost's appsettings.json, the environment and the command
    /// line; then raises <see cref="DistributedApplicationEvents"/>' builder-created event, whose
    /// subscribers (a test) may add configuration before the options are read from it.
    /// </summary>
    internal DistributedApplicationBuilder(string[] args, Assembly appHost)
    {
        _appHost = appHost;
        Configuration = new ConfigurationManager();
        Configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        Configuration.AddEnvironmentVariables();
        Configuration.AddCommandLine(TranslateArguments(args));
        DistributedApplicationEvents.RaiseBuilderCreated(this);

        _replicas = ReadWholeNumber("Replicas", 1, 64, "--replicas must be a whole number from 1 to 64") ?? 3;
        _brokers = ReadWholeNumber("Brokers", 1, 9, "--brokers must be a whole number from 1 to 9") ?? 1;
        var here = Directory.GetCurrentDirectory();
        Options = new DistributedApplicationOptions
        {
            StateDirectory = Configuration["StateDirectory"] is { Length: > 0 } state ? Path.GetFullPath(state) : Path.Combine(here, ".aspirekv", "state"),
            EndpointsFile = Configuration["EndpointsFile"] is { Length: > 0 } endpoints ? Path.GetFullPath(endpoints) : Path.Combine(here, ".aspirekv", "endpoints.json"),
            Reset = Configuration.GetValue("Reset", false),
            DashboardEnabled = Configuration.GetValue("Dashboard:Enabled", true),
            DashboardPort = ReadWholeNumber("Dashboard:Port", 0, 65535, "--dashboard-port must be a port number from 1 to 65535 (or 0 for any free port)"),
            ConsoleOutput = Configuration.GetValue("ConsoleOutput", true),
            Verbose = Configuration.GetValue("Verbose", false),
        };
    }

    public ConfigurationManager Configuration { get; }

    public DistributedApplicationOptions Options { get; }

    public IReadOnlyList<Resource> Resources => _resources;

    /// <summary>
    /// A RabbitMQ broker: an existing one, a private rabbitmq-server, or a container; a cluster of
    /// private brokers when the <c>Brokers</c> setting (<c>--brokers N</c>) says so.
    /// </summary>
    public ResourceBuilder<RabbitMqResource> AddRabbitMQ(string name)
    {
        var broker = new RabbitMqResource(name);
        broker.Annotations.Add(new ClusterSizeAnnotation(_brokers));
        return Add(broker);
    }

    /// <summary>
    /// <paramref name="count"/> AspireKv nodes named <c>{prefix}1</c>…; without a count, as many as
    /// the <c>Replicas</c> setting says (<c>--replicas N</c>), 3 by default.
    /// </summary>
    public ResourceBuilder<NodeResource> AddKeyValueNodes(string prefix, int? count = null)
    {
        var replicas = count ?? _replicas;
        if (replicas < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(count), replicas, "There must be at least one replica.");
        }

        var nodes = Enumerable.Range(1, replicas).Select(i => Add(new NodeResource($"{prefix}{i}")).Resource).ToList();
        return new ResourceBuilder<NodeResource>(nodes);
    }

    /// <summary>
    /// The application, with each broker cluster's brokers added as child resources after it
    /// (unless the connection string names an existing broker, which the AppHost does not run).
    /// </summary>
    public DistributedApplication Build()
    {
        var resources = new List<Resource>();
        foreach (var resource in _resources)
        {
            resources.Add(resource);
            if (resource is RabbitMqResource { ClusterSize: > 1 } cluster && string.IsNullOrEmpty(Configuration.GetConnectionStringValue(cluster.Name)))
            {
                resources.AddRange(cluster.CreateBrokers());
            }
        }

        var app = new DistributedApplication(Options, Configuration, resources, _appHost);
        DistributedApplicationEvents.RaiseBuilt(app);
        return app;
    }

    /// <summary>
    /// Adds a resource declared elsewhere. The application runs only the kinds it has a runner for
    /// (brokers and nodes); starting it with any other kind fails and says so.
    /// </summary>
    public ResourceBuilder<T> AddResource<T>(T resource)
        where T : Resource => Add(resource);

    private ResourceBuilder<T> Add<T>(T resource)
        where T : Resource
    {
        if (_resources.Any(r => string.Equals(r.Name, resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"There is already a resource named '{resource.Name}'.");
        }

        _resources.Add(resource);
        return new ResourceBuilder<T>([resource]);
    }

    /// <summary>A whole-number setting from <paramref name="min"/> to <paramref name="max"/>; null when unset; a usage error, saying <paramref name="expected"/>, otherwise.</summary>
    private int? ReadWholeNumber(string key, int min, int max, string expected)
    {
        var text = Configuration[key];
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            ? number
            : throw new UsageException($"{expected}, not '{text}'.");
    }

    /// <summary>Turns the friendly flags into configuration keys; everything else passes through as --Key=Value.</summary>
    private static string[] TranslateArguments(string[] args)
    {
        var translated = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{arg} needs a value.");
            switch (arg)
            {
                case "--help" or "-h" or "-?":
                    throw new UsageException(null);
                case "--replicas":
                    translated.Add($"--Replicas={Value()}");
                    break;
                case "--brokers":
                    translated.Add($"--Brokers={Value()}");
                    break;
                case "--state-dir":
                    translated.Add($"--StateDirectory={Value()}");
                    break;
                case "--reset":
                    translated.Add("--Reset=true");
                    break;
                case "--no-dashboard":
                    translated.Add("--Dashboard:Enabled=false");
                    break;
                case "--verbose":
                    translated.Add("--Verbose=true");
                    break;
                case "--no-broker-install":
                    translated.Add("--Broker:Install=false");
                    break;
                case "--dashboard-port":
                    translated.Add($"--Dashboard:Port={Value()}");
                    break;
                case var key when key.StartsWith("--", StringComparison.Ordinal) && key.Contains('='):
                    translated.Add(key);
                    break;
                default:
                    throw new UsageException($"Unknown argument '{arg}'.");
            }
        }

        return [.. translated];
    }
}

/// <summary>The command line was wrong (or asked for help); the message says how, and the usage follows.</summary>
public sealed class UsageException(string? message) : Exception(message ?? "Help requested.")
{
    public bool IsHelp => string.IsNullOrEmpty(message);
}
