using AspireKv.Hosting;
using AspireKv.Hosting.RabbitMQ;

namespace AspireKv.Testing;

/// <summary>
/// A private rabbitmq-server a test starts itself: its own node name, ports, Erlang port mapper,
/// folders and password (<see cref="BrokerLayout"/>, as the AppHost runs one), so that several run
/// side by side and none touches a system broker. Its data survives a restart; stopping it also
/// stops its port mapper.
/// </summary>
public sealed class RabbitMqServer : IAsyncDisposable
{
    private readonly Action<LogLine>? _output;
    private readonly bool _ownsEpmd;
    private ManagedProcess? _process;
    private ManagedProcess? _epmd;

    /// <param name="name">The name its log lines carry (for example <c>messaging</c>).</param>
    /// <param name="dataRoot">A folder of the broker's own: its data, logs, config and HOME go under it.</param>
    /// <param name="output">Receives the broker's log lines.</param>
    /// <param name="cluster">For a member of a <see cref="BrokerCluster"/>: the port mapper (which the cluster runs), cookie and password it shares.</param>
    public RabbitMqServer(string name, string dataRoot, Action<LogLine>? output = null, BrokerClusterIdentity? cluster = null)
    {
        Name = name;
        Layout = new BrokerLayout(dataRoot, cluster);
        _output = output;
        _ownsEpmd = cluster is null;
    }

    public string Name { get; }

    public BrokerLayout Layout { get; }

    public string NodeName => Layout.NodeName;

    public int AmqpPort => Layout.AmqpPort;

    public string Password => Layout.Password;

    /// <summary><c>amqp://guest:PASSWORD@127.0.0.1:PORT</c>, the shape of Aspire's <c>ConnectionStrings__messaging</c>.</summary>
    public string ConnectionString => Layout.ConnectionString;

    public Uri ManagementUrl => Layout.ManagementUrl;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The pid of the launcher script; the Erlang VM (beam.smp) is its child.</summary>
    public int? Pid => _process?.Pid;

    /// <summary>Starts the broker and waits until it accepts connections.</summary>
    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (!BrokerLayout.IsInstalled)
        {
            throw new InvalidOperationException($"rabbitmq-server is not installed ({BrokerLayout.ServerScript} is missing). Install it with: {BrokerInstaller.ExactCommand}");
        }

        if (IsRunning)
        {
            return;
        }

        Layout.WriteConfiguration();
        if (_ownsEpmd)
        {
            _epmd = await Epmd.EnsureAsync(_epmd, Name, Layout.EpmdPort, Layout.DataRoot, _output, cancellationToken).ConfigureAwait(false);
        }

        File.Delete(Layout.PidFile);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var environment = Layout.Environment.ToDictionary(e => e.Key, e => (string?)e.Value);
        environment["RABBITMQ_ALLOW_INPUT"] = null;
        _process = ManagedProcess.Start(new ProcessSpec(Name, BrokerLayout.ServerScript, [], Layout.DataRoot, environment, OwnSession: true), line =>
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
            new ProcessSpec($"{Name}-{tool}", Path.Combine(Path.GetDirectoryName(BrokerLayout.ServerScript)!, tool), ["-n", NodeName, .. arguments], Layout.DataRoot, Layout.Environment.ToDictionary(e => e.Key, e => (string?)e.Value)),
            timeout).ConfigureAwait(false);

    /// <summary>Stops the broker gracefully (SIGTERM), killing it after a grace period, then stops its epmd.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        Resume(); // a paused VM would not act on SIGTERM
        if (_process is { } process)
        {
            var vm = Layout.ReadVmPid();
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
            var vm = Layout.ReadVmPid();
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
        if (_process is { HasExited: false } && Layout.ReadVmPid() is { } vm && Signals.IsAlive(vm))
        {
            Signals.Send(vm, signal);
        }
    }

    private static void KillVm(int? vm)
    {
        if (vm is { } pid && Signals.IsAlive(pid))
        {
            Signals.Send(pid, Signals.SigKill);
        }
    }

    private static Task WaitForVmExitAsync(int? vm) => Signals.WaitUntilGoneAsync(vm, TimeSpan.FromSeconds(30));

    private async Task StopEpmdAsync()
    {
        if (_epmd is { } epmd)
        {
            await epmd.DisposeAsync().ConfigureAwait(false);
            _epmd = null;
        }
    }
}
