using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Aspire.Hosting;

/// <summary>
/// The command line of an AspireKv AppHost: friendly options (<c>--replicas 5</c>) turned into the
/// settings the integrations read, and the dashboard's addresses on loopback when no launch
/// profile gave them, so that the built AppHost also runs as <c>dotnet AspireKv.AppHost.dll</c>.
/// </summary>
public static class AspireKvAppHost
{
    public const string Usage = """
        Usage: dotnet run --project AspireKv.AppHost [-- options]

        Options:
          --replicas N          how many nodes to run (default 3; also the Replicas setting)
          --spares N            how many spare nodes to declare, started from the dashboard (default 1)
          --brokers N           run the broker as a RabbitMQ cluster of N private brokers (default 1;
                                also the Brokers setting; WithClusterSize in Program.cs overrides it)
          --state-dir PATH      where the broker and the nodes keep their data (default .aspirekv/state)
          --reset               delete that state before starting
          --no-dashboard        do not run the Aspire dashboard
          --dashboard-port N    the dashboard's port on loopback (default 18888, or a free one when taken)
          --no-broker-install   never install rabbitmq-server (by default, with no broker and no
                                container runtime, it is installed with apt as root or through sudo)
          --help                show this

        Any setting also works as --Key=Value. An existing broker instead of a private one:
        ConnectionStrings__messaging=amqp://user:pass@host:5672 (a cluster: one URI per broker, comma-separated)
        """;

    private const int DefaultDashboardPort = 18888;

    /// <summary>
    /// The options for <c>DistributedApplication.CreateBuilder</c>. <c>--help</c> prints the usage
    /// and exits with 0; a wrong option prints what is wrong and the usage, and exits with 2.
    /// </summary>
    public static DistributedApplicationOptions Options(string[] args)
    {
        try
        {
            return Parse(args);
        }
        catch (UsageException e) when (e.IsHelp)
        {
            Console.Out.WriteLine(Usage);
            Environment.Exit(0);
            throw;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"{e.Message}\n\n{Usage}");
            Environment.Exit(2);
            throw;
        }
    }

    /// <summary>The options for <paramref name="args"/>, or a <see cref="UsageException"/>.</summary>
    public static DistributedApplicationOptions Parse(string[] args)
    {
        var translated = new List<string>();
        var dashboard = true;
        int? dashboardPort = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{arg} needs a value.");
            switch (arg)
            {
                case "--help" or "-h" or "-?":
                    throw new UsageException(null);
                case "--replicas":
                    translated.Add($"--Replicas={WholeNumber(arg, Value(), 1, 64)}");
                    break;
                case "--spares":
                    translated.Add($"--Spares={WholeNumber(arg, Value(), 0, 16)}");
                    break;
                case "--brokers":
                    translated.Add($"--Brokers={WholeNumber(arg, Value(), 1, 9)}");
                    break;
                case "--state-dir":
                    translated.Add($"--StateDirectory={Value()}");
                    break;
                case "--reset":
                    translated.Add("--Reset=true");
                    break;
                case "--no-dashboard":
                    dashboard = false;
                    break;
                case "--no-broker-install":
                    translated.Add($"--{AspireKv.Hosting.RabbitMQ.BrokerInstaller.Setting}=false");
                    break;
                case "--dashboard-port":
                    var text = Value();
                    dashboardPort = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
                        ? port
                        : throw new UsageException($"--dashboard-port must be a port number from 1 to 65535 (or 0 for any free port), not '{text}'.");
                    break;
                case var key when key.StartsWith("--", StringComparison.Ordinal) && key.Contains('='):
                    translated.Add(key);
                    break;
                default:
                    throw new UsageException($"Unknown argument '{arg}'.");
            }
        }

        if (dashboard)
        {
            translated.AddRange(DashboardAddresses(dashboardPort));
        }

        // The AppHost runs in the folder it was started from (where .aspirekv/ goes), and reads
        // its appsettings.json from its project folder, as Aspire does when it runs there.
        var options = new DistributedApplicationOptions { DisableDashboard = !dashboard };
        // (Read from the entry assembly, not options.ProjectDirectory: that caches the options'
        // assembly, which Aspire.Hosting.Testing sets only after this.)
        var project = System.Reflection.CustomAttributeExtensions.GetCustomAttributes<System.Reflection.AssemblyMetadataAttribute>(System.Reflection.Assembly.GetEntryAssembly()!)
            .FirstOrDefault(a => a.Key == "apphostprojectpath")?.Value;
        if (project is not null && !translated.Any(a => a.StartsWith("--contentRoot=", StringComparison.OrdinalIgnoreCase)))
        {
            translated.Add($"--contentRoot={project}");
        }

        options.Args = [.. translated];
        return options;
    }

    /// <summary>
    /// The dashboard's addresses where neither the launch profile nor the environment gave them
    /// (the built AppHost run directly), and its browser port moved when it is taken or asked for.
    /// </summary>
    private static IEnumerable<string> DashboardAddresses(int? port)
    {
        var urls = Environment.GetEnvironmentVariable("ASPNETCORE_URLS");
        if (port is not null || string.IsNullOrEmpty(urls) || IsTaken(urls))
        {
            var chosen = port switch
            {
                0 => AspireKv.Hosting.PortAllocator.Next(),
                int asked => IsFree(asked) ? asked : Refuse($"The dashboard cannot listen on port {asked} (--dashboard-port): another program uses it. Choose another port, or 0 for any free one."),
                null => IsFree(DefaultDashboardPort) ? DefaultDashboardPort : AspireKv.Hosting.PortAllocator.Next(),
            };
            yield return $"--ASPNETCORE_URLS=http://localhost:{chosen}";
            yield return "--ASPIRE_ALLOW_UNSECURED_TRANSPORT=true";
        }

        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL")) || IsTaken(Environment.GetEnvironmentVariable("ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL")!))
        {
            yield return $"--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:{AspireKv.Hosting.PortAllocator.Next()}";
            yield return $"--ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://localhost:{AspireKv.Hosting.PortAllocator.Next()}";
        }
    }

    private static string WholeNumber(string option, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            ? text
            : throw new UsageException($"{option} must be a whole number from {min} to {max}, not '{text}'.");

    private static int Refuse(string reason)
    {
        Console.Error.WriteLine($"The AppHost could not start: {reason}");
        Environment.Exit(1);
        return 0;
    }

    private static bool IsTaken(string urls) =>
        urls.Split(';').Any(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && !IsFree(uri.Port));

    private static bool IsFree(int port)
    {
        try
        {
            // As Kestrel binds: with SO_REUSEADDR, so that connections in TIME_WAIT do not count.
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>The command line was wrong (or asked for help); the message says how, and the usage follows.</summary>
public sealed class UsageException(string? message) : Exception(message ?? "Help requested.")
{
    public bool IsHelp => string.IsNullOrEmpty(message);
}
