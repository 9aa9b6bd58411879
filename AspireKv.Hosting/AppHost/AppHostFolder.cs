using System.Globalization;
using System.Runtime.CompilerServices;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AspireKv.Hosting.AppHost;

/// <summary>The AppHost cannot start as declared; the message says why and what to do.</summary>
public sealed class AppHostCannotStartException(string message) : DistributedApplicationException(message);

/// <summary>
/// The folder an AspireKv AppHost runs in and its settings: where the broker and nodes keep their
/// data (<c>.aspirekv/state</c>, or <c>StateDirectory</c>), the endpoints file the CLI reads, and
/// the lock that keeps a second AppHost out. One per application; the integrations share it.
/// </summary>
public sealed class AppHostFolder
{
    private static readonly ConditionalWeakTable<IServiceCollection, AppHostFolder> Folders = [];
    private static int _handlerInstalled;
    private readonly List<AppHostLock> _locks = [];

    private AppHostFolder(IDistributedApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var here = Directory.GetCurrentDirectory();
        StateDirectory = configuration["StateDirectory"] is { Length: > 0 } state ? Path.GetFullPath(state) : Path.Combine(here, ".aspirekv", "state");
        EndpointsFile = configuration["EndpointsFile"] is { Length: > 0 } endpoints ? Path.GetFullPath(endpoints) : Path.Combine(here, ".aspirekv", "endpoints.json");
        Replicas = WholeNumber(configuration, "Replicas", 1, 64) ?? 3;
        Spares = WholeNumber(configuration, "Spares", 0, 16) ?? 1;
        Brokers = WholeNumber(configuration, "Brokers", 1, 9) ?? 1;
        BrokerInstall = configuration.GetValue(AspireKv.Hosting.RabbitMQ.BrokerInstaller.Setting, true);
        if (!builder.ExecutionContext.IsRunMode)
        {
            return;
        }

        InstallFailureHandler();

        // Take the folders' locks before touching anything in them, so that a second AppHost in the
        // same folder (or on the same state) says so and leaves the first one's files alone.
        foreach (var folder in new[] { Path.GetDirectoryName(EndpointsFile)!, StateDirectory }.Distinct())
        {
            _locks.Add(AppHostLock.Acquire(folder, EndpointsFile));
        }

        if (configuration.GetValue("Reset", false))
        {
            AppHostLock.EmptyExceptLock(StateDirectory);
        }

        Directory.CreateDirectory(StateDirectory);
        builder.Services.AddSingleton(this);
        builder.Services.AddHostedService<AppHostFolderService>();
    }

    /// <summary>Where the broker and every node keep their data, one folder each.</summary>
    public string StateDirectory { get; }

    /// <summary><c>.aspirekv/endpoints.json</c>: what the CLI in another terminal reads to reach <c>node2</c> by name.</summary>
    public string EndpointsFile { get; }

    /// <summary>How many nodes a store runs unless its declaration says (<c>--replicas N</c>).</summary>
    public int Replicas { get; }

    /// <summary>How many spare nodes a store declares, each started only on request (<c>--spares N</c>).</summary>
    public int Spares { get; }

    /// <summary>How many brokers <c>messaging</c> runs unless its declaration says (<c>--brokers N</c>).</summary>
    public int Brokers { get; }

    /// <summary>Whether rabbitmq-server may be installed with apt when it is missing (<c>--no-broker-install</c> turns it off).</summary>
    public bool BrokerInstall { get; }

    /// <summary>The resources the endpoints file lists, with the type it gives each, in the order they were declared.</summary>
    internal List<(IResource Resource, string Type)> Published { get; } = [];

    /// <summary>The resources that must be healthy before the AppHost says it is ready.</summary>
    internal List<IResource> ReadyWhenHealthy { get; } = [];

    /// <summary>Nodes that left the topology: not in the endpoints file until they are started again.</summary>
    internal HashSet<string> Left { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The folder of <paramref name="builder"/>'s AppHost (one per service collection, which a testing builder shares with the builder it wraps); the first call takes its locks.</summary>
    public static AppHostFolder Of(IDistributedApplicationBuilder builder) => Folders.GetValue(builder.Services, _ => new AppHostFolder(builder));

    /// <summary>A resource's own folder under the state folder.</summary>
    public string FolderOf(string resource) => Path.Combine(StateDirectory, resource);

    internal void ReleaseLocks()
    {
        foreach (var held in _locks)
        {
            held.Dispose();
        }

        _locks.Clear();
    }

    private static int? WholeNumber(IConfiguration configuration, string key, int min, int max)
    {
        var text = configuration[key];
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            ? number
            : throw new AppHostCannotStartException($"{key} must be a whole number from {min} to {max}, not '{text}'.");
    }

    /// <summary>
    /// An AppHost that cannot start as declared says why on one line and exits with status 1, rather
    /// than with a stack trace; under a test the exception reaches the test instead.
    /// </summary>
    private static void InstallFailureHandler()
    {
        if (Interlocked.Exchange(ref _handlerInstalled, 1) == 1)
        {
            return;
        }

        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            if ((e.ExceptionObject as Exception)?.GetBaseException() is AppHostCannotStartException reason)
            {
                Console.Error.WriteLine($"The AppHost could not start: {reason.Message}");
                Environment.Exit(1);
            }
        };
    }
}
