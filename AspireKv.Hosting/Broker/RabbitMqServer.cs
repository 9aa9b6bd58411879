using System.Globalization;
using System.Security.Cryptography;
using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.Broker;

/// <summary>
/// A private rabbitmq-server: its own node name, ports, Erlang port mapper (epmd), data and
/// config folders, and generated credentials, so that several can run side by side and none
/// touches a system broker. Its data survives a restart; stopping it also stops its epmd.
/// </summary>
public sealed class RabbitMqServer : IAsyncDisposable
{
    /// <summary>The variable that points at another rabbitmq-server script than the package's.</summary>
    public const string ServerScriptVariable = "ASPIREKV_RABBITMQ_SERVER";

    /// <summary>
    /// The server script: <c>ASPIREKV_RABBITMQ_SERVER</c> when set, otherwise where Debian's and
    /// Ubuntu's rabbitmq-server package puts it.
    /// </summary>
    public static string ServerScript =>
        Environment.GetEnvironmentVariable(ServerScriptVariable) is { Length: > 0 } script ? script : PackageServerScript;

    /// <summary>Where Debian's and Ubuntu's rabbitmq-server package puts the server script.</summary>
    public const string PackageServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";

    private readonly string _dataRoot;
    private readonly Action<LogLine>? _output;
    private readonly BrokerClusterIdentity? _cluster;
    private ManagedProcess? _process;
    private ManagedProcess? _epmd;

    /// <param name="name">The resource name, used as the log prefix (for example <c>messaging</c>).</param>
    /// <param name="dataRoot">A folder of the broker's own: its data, logs, config and HOME go under it.</param>
    /// <param name="output">Receives the broker's log lines.</param>
    /// <param name="cluster">
    /// For a member of a <see cref="BrokerCluster"/>: the cluster's port mapper (which the cluster
    /// runs), Erlang cookie and password, instead of the broker's own.
    /// </param>
    public RabbitMqServer(string name, string dataRoot, Action<LogLine>? output = null, BrokerClusterIdentity? cluster = null)
    {
        Name = name;
        _dataRoot = Path.GetFullPath(dataRoot);
        _output = output;
        _cluster = cluster;
        Directory.CreateDirectory(_dataRoot);

        // The node name, ports and password stay the same across restarts: the data folder is
        // keyed by node name, and clients keep their connection string.
        var state = BrokerState.LoadOrCreate(Path.Combine(_dataRoot, "broker.state"));
        NodeName = state.NodeName;
        AmqpPort = state.AmqpPort;
        ManagementPort = state.ManagementPort;
        DistributionPort = state.DistributionPort;
        EpmdPort = cluster?.EpmdPort ?? state.EpmdPort;
        Password = cluster?.Password ?? state.Password;
    }

    public string Name { get; }

    public string NodeName { get; }

    public int AmqpPort { get; }

    public int ManagementPort { get; }

    public int DistributionPort { get; }

    public int EpmdPort { get; }

    /// <summary>The user is <c>guest</c>, as a .NET Aspire AppHost's RabbitMQ resource has it.</summary>
    public string User => "guest";

    public string Password { get; }

    /// <summary><c>amqp://guest:PASSWORD@127.0.0.1:PORT</c>, the shape of Aspire's <c>ConnectionStrings__messaging</c>.</summary>
    public string ConnectionString => $"amqp://{User}:{Uri.EscapeDataString(Password)}@127.0.0.1:{AmqpPort}";

    public Uri ManagementUrl => new($"http://127.0.0.1:{ManagementPort}/");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The pid of the launcher script; the Erlang VM (beam.smp) is its child.</summary>
    public int? Pid => _process?.Pid;

    public static bool IsInstalled => File.Exists(ServerScript);

    /// <summary>Starts the broker and waits until it accepts connections.</summary>
    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (!IsInstalled)
        {
            throw new InvalidOperationException(
                $"rabbitmq-server is not installed ({ServerScript} is missing). Install it with: sudo apt-get install -y rabbitmq-server " +
                "(or set ConnectionStrings__messaging to an existing broker).");
        }

        if (IsRunning)
        {
            return;
        }

        var config = Path.Combine(_dataRoot, "rabbitmq.conf");
        var plugins = Path.Combine(_dataRoot, "enabled_plugins");
        await File.WriteAllTextAsync(config, string.Join('\n',
            $"listeners.tcp.default = 127.0.0.1:{AmqpPort}",
            $"default_user = {User}",
            $"default_pass = {Password}",
            $"management.tcp.ip = 127.0.0.1",
            $"management.tcp.port = {ManagementPort}",
            string.Empty), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(plugins, "[rabbitmq_management].\n", cancellationToken).ConfigureAwait(false);
        var environment = BuildEnvironment();
        if (_cluster is { } cluster)
        {
            // Erlang nodes join only those that know the same cookie; the file must be the owner's alone.
            var cookie = Path.Combine(environment["HOME"]!, ".erlang.cookie");
            File.Delete(cookie);
            await File.WriteAllTextAsync(cookie, cluster.Cookie, cancellationToken).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(cookie, UnixFileMode.UserRead);
            }
        }
        else
        {
            // Start the broker's port mapper ourselves, in the foreground, so it is our child: left
            // to the VM, epmd daemonizes and outlives the broker. A cluster runs one for all its brokers.
            _epmd = await Epmd.EnsureAsync(_epmd, Name, EpmdPort, _dataRoot, _output, cancellationToken).ConfigureAwait(false);
        }

        File.Delete(PidFile);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _process = ManagedProcess.Start(new ProcessSpec(Name, ServerScript, [], _dataRoot, environment, OwnSession: true), line =>
        {
            if (line.Text.Contains("Server startup complete", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }

            _output?.Invoke(line);
        });

        var process = _process;
        var exited = process.Exited;
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        var finished = await Task.WhenAny(ready.Task, exited, Task.Delay(Timeout.Infinite, timer.Token)).ConfigureAwait(false);
        if (finished == ready.Task)
        {
            return;
        }

        var tail = string.Join('\n', process.RecentOutput.TakeLast(30).Select(l => "  " + l.Text));
        await StopAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        throw new InvalidOperationException(finished == exited
            ? $"rabbitmq-server for {Name} exited with code {exited.Result} during start-up. Its last output:\n{tail}"
            : $"rabbitmq-server for {Name} did not finish starting within {timeout.TotalSeconds:F0} s. Its last output:\n{tail}");
    }

    /// <summary>
    /// Runs <c>rabbitmqctl</c> against this broker (for example <c>set_vm_memory_high_watermark</c>
    /// or <c>join_cluster</c>), with the broker's node name, Erlang cookie and port mapper.
    /// </summary>
    public Task<(int ExitCode, string Output)> RunCtlAsync(TimeSpan timeout, params string[] arguments) =>
        RunToolAsync("rabbitmqctl", timeout, arguments);

    /// <summary>Runs <c>rabbitmq-streams</c> (for example <c>stream_status</c>) against this broker, as <see cref="RunCtlAsync"/> does.</summary>
    public Task<(int ExitCode, string Output)> RunStreamsCtlAsync(TimeSpan timeout, params string[] arguments) =>
        RunToolAsync("rabbitmq-streams", timeout, arguments);

    private async Task<(int ExitCode, string Output)> RunToolAsync(string tool, TimeSpan timeout, string[] arguments) =>
        await ManagedProcess.RunToExitAsync(
            new ProcessSpec($"{Name}-{tool}", Path.Combine(Path.GetDirectoryName(ServerScript)!, tool), ["-n", NodeName, .. arguments], _dataRoot, BuildEnvironment()),
            timeout).ConfigureAwait(false);

    /// <summary>
    /// The bytes of <paramref name="stream"/>'s segment and index files in this broker's data
    /// folder (its replica of the stream); 0 when it holds none.
    /// </summary>
    public long StreamBytesOnDisk(string stream)
    {
        var prefix = $"__{stream.Replace('.', '_')}_";
        var mnesia = Path.Combine(_dataRoot, "mnesia");
        if (!Directory.Exists(mnesia))
        {
            return 0;
        }

        try
        {
            return Directory.EnumerateDirectories(mnesia, "stream", SearchOption.AllDirectories)
                .SelectMany(streams => Directory.EnumerateDirectories(streams, prefix + "*"))
                .SelectMany(folder => Directory.EnumerateFiles(folder))
                .Sum(file => new FileInfo(file).Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0; // a segment dropped by retention while counting
        }
    }

    /// <summary>Stops the broker gracefully (SIGTERM), killing it after a grace period, then stops its epmd.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        Resume(); // a paused VM would not act on SIGTERM
        if (_process is { } process)
        {
            var vm = ReadVmPid();
            if (!process.HasExited)
            {
                // The launcher script forwards SIGTERM to the VM and waits for it.
                Signals.Send(process.Pid, Signals.SigTerm);
                if (await Task.WhenAny(process.Exited, Task.Delay(grace ?? TimeSpan.FromSeconds(30))).ConfigureAwait(false) != process.Exited)
                {
                    KillVm(vm);
                    process.Kill();
                }

                await process.Exited.ConfigureAwait(false);
            }

            await WaitForVmExitAsync(vm).ConfigureAwait(false);
        }

        await StopEpmdAsync().ConfigureAwait(false);
    }

    /// <summary>SIGKILL to the VM and its launcher: the broker ends at once, with no chance to clean up.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            var vm = ReadVmPid();
            KillVm(vm);
            process.Kill();
            await process.Exited.ConfigureAwait(false);
            await WaitForVmExitAsync(vm).ConfigureAwait(false);
        }

        await StopEpmdAsync().ConfigureAwait(false);
    }

    /// <summary>SIGSTOP to the Erlang VM: the broker freezes with its connections open, as a hung machine would.</summary>
    public void Pause() => SignalVm(Signals.SigStop);

    /// <summary>SIGCONT to the Erlang VM: a paused broker goes on.</summary>
    public void Resume() => SignalVm(Signals.SigCont);

    public async ValueTask DisposeAsync()
    {
        Resume();
        await StopAsync().ConfigureAwait(false);
    }

    private void SignalVm(int signal)
    {
        if (_process is { HasExited: false } && ReadVmPid() is { } vm && IsAlive(vm))
        {
            Signals.Send(vm, signal);
        }
    }

    private string PidFile => Path.Combine(_dataRoot, "rabbitmq.pid");

    /// <summary>The environment of the broker and of rabbitmqctl: everything private to this instance.</summary>
    private Dictionary<string, string?> BuildEnvironment() => new()
    {
        ["HOME"] = Directory.CreateDirectory(Path.Combine(_dataRoot, "home")).FullName,
        ["RABBITMQ_NODENAME"] = NodeName,
        ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
        ["RABBITMQ_NODE_PORT"] = AmqpPort.ToString(CultureInfo.InvariantCulture),
        ["RABBITMQ_DIST_PORT"] = DistributionPort.ToString(CultureInfo.InvariantCulture),
        ["ERL_EPMD_PORT"] = EpmdPort.ToString(CultureInfo.InvariantCulture),
        ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
        ["RABBITMQ_MNESIA_BASE"] = Directory.CreateDirectory(Path.Combine(_dataRoot, "mnesia")).FullName,
        ["RABBITMQ_LOG_BASE"] = Directory.CreateDirectory(Path.Combine(_dataRoot, "log")).FullName,
        ["RABBITMQ_LOGS"] = "-",
        ["RABBITMQ_CONFIG_FILE"] = Path.Combine(_dataRoot, "rabbitmq.conf"),
        ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_dataRoot, "enabled_plugins"),
        ["RABBITMQ_PID_FILE"] = PidFile,
        ["RABBITMQ_ALLOW_INPUT"] = null,
        ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(_dataRoot, "rabbitmq-env.conf"),
        ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(_dataRoot, "advanced.config"),
    };

    private int? ReadVmPid()
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

    private static void KillVm(int? vm)
    {
        if (vm is { } pid && IsAlive(pid))
        {
            Signals.Send(pid, Signals.SigKill);
        }
    }

    private static async Task WaitForVmExitAsync(int? vm)
    {
        for (var i = 0; vm is { } pid && IsAlive(pid) && i < 300; i++)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    internal static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state is not ("Z" or "X");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private async Task StopEpmdAsync()
    {
        if (_epmd is { } epmd)
        {
            await epmd.DisposeAsync().ConfigureAwait(false);
            _epmd = null;
        }
    }

    /// <summary>The broker's identity, kept in its data folder so a restart reuses it.</summary>
    private sealed record BrokerState(string NodeName, int AmqpPort, int ManagementPort, int DistributionPort, int EpmdPort, string Password)
    {
        public static BrokerState LoadOrCreate(string path)
        {
            var values = StateFile.Read(path);
            int Port(string key) => StateFile.KeptPort(values, key);
            var state = new BrokerState(
                values.GetValueOrDefault("node") ?? $"aspirekv-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}@localhost",
                Port("amqp"),
                Port("management"),
                Port("dist"),
                Port("epmd"),
                values.GetValueOrDefault("password") ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            File.WriteAllLines(path,
            [
                $"node={state.NodeName}",
                $"amqp={state.AmqpPort}",
                $"management={state.ManagementPort}",
                $"dist={state.DistributionPort}",
                $"epmd={state.EpmdPort}",
                $"password={state.Password}",
            ]);
            return state;
        }
    }
}
