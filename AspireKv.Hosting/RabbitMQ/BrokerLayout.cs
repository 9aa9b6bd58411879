using System.Globalization;
using System.Security.Cryptography;

namespace AspireKv.Hosting.RabbitMQ;

/// <summary>What the brokers of one cluster share: a port mapper, an Erlang cookie and the password.</summary>
public sealed record BrokerClusterIdentity(int EpmdPort, string Cookie, string Password)
{
    /// <summary>The cluster's identity, kept in <paramref name="path"/> (readable only by its owner: the cookie is a secret) so that a restart finds the same cluster.</summary>
    public static BrokerClusterIdentity LoadOrCreate(string path)
    {
        var values = StateFile.Read(path);
        var identity = new BrokerClusterIdentity(
            StateFile.KeptPort(values, "epmd"),
            values.GetValueOrDefault("cookie") ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(20)),
            values.GetValueOrDefault("password") ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        StateFile.Write(path, [$"epmd={identity.EpmdPort}", $"cookie={identity.Cookie}", $"password={identity.Password}"], secret: true);
        return identity;
    }
}

/// <summary>
/// One private rabbitmq-server: its node name, ports, password and folders, and the environment
/// and files that keep it apart from every other broker on the machine. Kept in <c>broker.state</c>,
/// so a restart reuses the node name and password (which its data holds) and, while free, its ports.
/// </summary>
public sealed class BrokerLayout
{
    /// <summary>The variable that points at another rabbitmq-server script than the package's.</summary>
    public const string ServerScriptVariable = "ASPIREKV_RABBITMQ_SERVER";

    /// <summary>Where Debian's and Ubuntu's rabbitmq-server package puts the server script.</summary>
    public const string PackageServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";

    /// <summary>The user, as Aspire's RabbitMQ resource has it.</summary>
    public const string User = "guest";

    private readonly BrokerClusterIdentity? _cluster;

    /// <param name="dataRoot">A folder of the broker's own: its data, logs, config and HOME go under it.</param>
    /// <param name="cluster">For a broker of a cluster: the port mapper, cookie and password it shares with the others.</param>
    public BrokerLayout(string dataRoot, BrokerClusterIdentity? cluster = null)
    {
        DataRoot = Path.GetFullPath(dataRoot);
        _cluster = cluster;
        Directory.CreateDirectory(DataRoot);
        var path = Path.Combine(DataRoot, "broker.state");
        var values = StateFile.Read(path);
        int Port(string key) => StateFile.KeptPort(values, key);
        NodeName = values.GetValueOrDefault("node") ?? $"aspirekv-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}@localhost";
        AmqpPort = Port("amqp");
        ManagementPort = Port("management");
        StreamPort = Port("stream");
        DistributionPort = Port("dist");
        EpmdPort = cluster?.EpmdPort ?? Port("epmd");
        Password = cluster?.Password ?? values.GetValueOrDefault("password") ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        StateFile.Write(path,
        [
            $"node={NodeName}",
            $"amqp={AmqpPort}",
            $"management={ManagementPort}",
            $"stream={StreamPort}",
            $"dist={DistributionPort}",
            $"epmd={EpmdPort}",
            $"password={Password}",
        ], secret: true);
    }

    /// <summary>The server script: <c>ASPIREKV_RABBITMQ_SERVER</c> when set, otherwise the Debian package's.</summary>
    public static string ServerScript =>
        System.Environment.GetEnvironmentVariable(ServerScriptVariable) is { Length: > 0 } script ? script : PackageServerScript;

    public static bool IsInstalled => File.Exists(ServerScript);

    /// <summary>The Erlang port mapper's program.</summary>
    public static string EpmdProgram => File.Exists("/usr/bin/epmd") ? "/usr/bin/epmd" : "epmd";

    public string DataRoot { get; }

    public string NodeName { get; }

    public int AmqpPort { get; }

    public int ManagementPort { get; }

    public int StreamPort { get; }

    public int DistributionPort { get; }

    public int EpmdPort { get; }

    public string Password { get; }

    /// <summary><c>amqp://guest:PASSWORD@127.0.0.1:PORT</c>, the shape of Aspire's RabbitMQ connection string.</summary>
    public string ConnectionString => $"amqp://{User}:{Uri.EscapeDataString(Password)}@127.0.0.1:{AmqpPort}";

    public Uri ManagementUrl => new($"http://127.0.0.1:{ManagementPort}/");

    /// <summary>Where the VM writes its own pid (the launcher script's child).</summary>
    public string PidFile => Path.Combine(DataRoot, "rabbitmq.pid");

    /// <summary>Whether the broker has never booted in this folder (a new member of a cluster joins its peer on its first boot only).</summary>
    public bool IsBlank => !Directory.Exists(Path.Combine(DataRoot, "mnesia", NodeName));

    /// <summary>
    /// The environment of the broker and its tools: everything private to this instance. The VM starts
    /// no port mapper (one would daemonize and outlive everything): one runs beside it on <see cref="EpmdPort"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["HOME"] = Path.Combine(DataRoot, "home"),
        ["RABBITMQ_NODENAME"] = NodeName,
        ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
        ["RABBITMQ_NODE_PORT"] = Text(AmqpPort),
        ["RABBITMQ_DIST_PORT"] = Text(DistributionPort),
        ["ERL_EPMD_PORT"] = Text(EpmdPort),
        ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
        ["RABBITMQ_MNESIA_BASE"] = Path.Combine(DataRoot, "mnesia"),
        ["RABBITMQ_LOG_BASE"] = Path.Combine(DataRoot, "log"),
        ["RABBITMQ_LOGS"] = "-",
        ["RABBITMQ_CONFIG_FILE"] = Path.Combine(DataRoot, "rabbitmq.conf"),
        ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(DataRoot, "enabled_plugins"),
        ["RABBITMQ_PID_FILE"] = PidFile,
        ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(DataRoot, "rabbitmq-env.conf"),
        ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(DataRoot, "advanced.config"),
        ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-start_epmd false",
    };

    /// <summary>
    /// Writes the broker's config, plugins and (for a cluster) cookie, and creates its folders; a
    /// blank broker given <paramref name="joinPeer"/> joins that node's cluster on its first boot.
    /// <paramref name="password"/> is <c>guest</c>'s on the first boot, which the broker's data then keeps.
    /// </summary>
    public void WriteConfiguration(string? password = null, string? joinPeer = null)
    {
        foreach (var folder in new[] { "home", "mnesia", "log" })
        {
            Directory.CreateDirectory(Path.Combine(DataRoot, folder));
        }

        var lines = new List<string>
        {
            $"listeners.tcp.default = 127.0.0.1:{AmqpPort}",
            $"default_user = {User}",
            $"default_pass = {password ?? Password}",
            "management.tcp.ip = 127.0.0.1",
            $"management.tcp.port = {ManagementPort}",
            $"stream.listeners.tcp.default = 127.0.0.1:{StreamPort}",
            "stream.advertised_host = 127.0.0.1",
            $"stream.advertised_port = {StreamPort}",
            "stream.frame_max = 8388608", // a write of up to gRPC's 4 MiB fits one log entry
        };
        if (joinPeer is not null)
        {
            lines.Add("cluster_formation.peer_discovery_backend = classic_config");
            lines.Add($"cluster_formation.classic_config.nodes.1 = {joinPeer}");
        }

        File.WriteAllLines(Path.Combine(DataRoot, "rabbitmq.conf"), lines);
        File.WriteAllText(Path.Combine(DataRoot, "enabled_plugins"), "[rabbitmq_management,rabbitmq_stream].\n");
        if (_cluster is { } cluster)
        {
            // Erlang nodes join only those that know the same cookie; the file must be its owner's alone.
            var cookie = Path.Combine(DataRoot, "home", ".erlang.cookie");
            File.Delete(cookie);
            File.WriteAllText(cookie, cluster.Cookie);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(cookie, UnixFileMode.UserRead);
            }
        }
    }

    /// <summary>The pid the VM wrote at boot; null before it has, or after it is gone.</summary>
    public int? ReadVmPid()
    {
        try
        {
            return int.TryParse(File.ReadAllText(PidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Text(int number) => number.ToString(CultureInfo.InvariantCulture);
}
