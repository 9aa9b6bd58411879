using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.AppModel;

/// <summary>Where a resource is in its life, as the Aspire dashboard names the states.</summary>
public enum ResourceState
{
    NotStarted,
    Waiting,
    Starting,
    Running,

    /// <summary>Frozen with SIGSTOP, its sockets open, until it is resumed (SIGCONT).</summary>
    Paused,
    Stopping,
    Exited,
    FailedToStart,
}

/// <summary>The last health check's verdict.</summary>
public enum ResourceHealth
{
    Unknown,
    Healthy,
    Degraded,
    Unhealthy,
}

/// <summary>
/// Something the AppHost runs: it has a name, a state, endpoints and a log, and can be started,
/// stopped, killed and restarted.
/// </summary>
public abstract class Resource
{
    private readonly List<Resource> _waitFor = [];
    private ResourceState _state = ResourceState.NotStarted;
    private int _generation;

    protected Resource(string name, string type)
    {
        Name = name;
        Type = type;
    }

    public string Name { get; }

    /// <summary>What kind of resource it is: <c>rabbitmq</c> or <c>node</c>.</summary>
    public string Type { get; }

    public ResourceState State
    {
        get => _state;
        protected set
        {
            if (_state != value)
            {
                _state = value;
                Changed?.Invoke(this);
            }
        }
    }

    /// <summary>More about the state, such as an exit code or why it failed.</summary>
    public string? StateDetail { get; protected set; }

    public ResourceHealth Health { get; internal set; } = ResourceHealth.Unknown;

    public int? Pid { get; protected set; }

    public DateTimeOffset? StartedAt { get; protected set; }

    /// <summary>How many times the resource was started again after its first start.</summary>
    public int RestartCount { get; protected set; }

    /// <summary>Endpoints by name, such as <c>grpc</c> or <c>management</c>.</summary>
    public abstract IReadOnlyDictionary<string, Uri> Endpoints { get; }

    /// <summary>The resource's recent console output.</summary>
    public LogBuffer Logs { get; } = new(5000);

    /// <summary>The resources this one waits for before it starts.</summary>
    public IReadOnlyList<Resource> WaitsFor => _waitFor;

    /// <summary>Whether the AppHost manages the resource's process (an existing broker it only points at is not).</summary>
    public virtual bool IsManaged => true;

    /// <summary>Raised when the state changes.</summary>
    public event Action<Resource>? Changed;

    /// <summary>Receives every log line of the resource (set by the application).</summary>
    internal Action<LogLine>? Output { get; set; }

    public abstract Task StartAsync(DistributedApplicationContext context, CancellationToken cancellationToken);

    public abstract Task StopAsync();

    public abstract Task KillAsync();

    /// <summary>Whether <see cref="PauseAsync"/> and <see cref="ResumeAsync"/> apply (nodes: SIGSTOP and SIGCONT).</summary>
    public virtual bool CanPause => false;

    /// <summary>Freezes the running resource where it is (SIGSTOP), as a hung machine would be.</summary>
    public virtual Task PauseAsync() => throw new InvalidOperationException($"{Name} cannot be paused.");

    /// <summary>Lets a paused resource go on (SIGCONT).</summary>
    public virtual Task ResumeAsync() => throw new InvalidOperationException($"{Name} cannot be paused, so it cannot be resumed.");

    /// <summary>Checks the resource's health now.</summary>
    public abstract Task<ResourceHealth> CheckHealthAsync(CancellationToken cancellationToken);

    internal void AddWaitFor(Resource resource) => _waitFor.Add(resource);

    protected void Log(LogLine line)
    {
        Logs.Add(line);
        Output?.Invoke(line);
    }

    /// <summary>
    /// Whether the output of the resource's own program reaches the terminal as well as its
    /// console log. The broker's boot output does only with --verbose: it would scroll the
    /// dashboard link away.
    /// </summary>
    internal bool EchoOutput { get; set; } = true;

    /// <summary>A line the resource's program wrote: always in its console log, on the terminal when <see cref="EchoOutput"/>.</summary>
    protected void LogOutput(LogLine line)
    {
        if (EchoOutput)
        {
            Log(line);
        }
        else
        {
            Logs.Add(line);
        }
    }

    protected void Log(string text, bool isError = false) => Log(new LogLine(DateTimeOffset.UtcNow, Name, isError, text));

    /// <summary>
    /// Follows a process: its exit moves the resource to Exited, unless it was asked to stop or a
    /// later start has replaced it (a restart's old process ends after the new one was started).
    /// </summary>
    protected void Track(ManagedProcess process)
    {
        Pid = process.Pid;
        var generation = ++_generation;
        _ = process.Exited.ContinueWith(
            t =>
            {
                if (generation == _generation && State is ResourceState.Running or ResourceState.Starting or ResourceState.Paused)
                {
                    var detail = t.Result switch
                    {
                        137 or -9 => "killed (SIGKILL) by something other than the AppHost",
                        var code => $"exited unexpectedly with code {code}",
                    };
                    Log($"{Name} {detail}.", isError: true);
                    MarkExited(detail, log: false);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Writes what a user asked of the resource (start, stop, kill, restart) to its log and the terminal.</summary>
    internal void LogAction(string action) => Log($"{Name}: {action} requested.");

    /// <summary>Writes why an action a user asked for failed, as <see cref="LogAction"/> wrote the request.</summary>
    internal void LogActionFailed(string action, Exception error) => Log($"{Name}: {action} failed: {error.Message.Split('\n')[0]}", isError: true);

    protected void MarkStarting()
    {
        if (State is ResourceState.Exited or ResourceState.FailedToStart && StartedAt is not null)
        {
            RestartCount++;
        }

        StateDetail = null;
        Health = ResourceHealth.Unknown;
        State = ResourceState.Starting;
    }

    protected void MarkRunning()
    {
        StartedAt = DateTimeOffset.UtcNow;
        StateDetail = RestartCount > 0 ? $"restarted ({RestartCount})" : null;
        Health = ResourceHealth.Healthy;
        State = ResourceState.Running;
        if (RestartCount > 0)
        {
            Log($"{Name} is running again (pid {Pid}).");
        }
    }

    protected void MarkExited(string detail, bool log = true)
    {
        StateDetail = detail;
        Health = ResourceHealth.Unknown;
        State = ResourceState.Exited;
        if (log)
        {
            Log($"{Name} {detail}.");
        }
    }

    protected void MarkFailed(string detail)
    {
        StateDetail = detail;
        Health = ResourceHealth.Unknown;
        State = ResourceState.FailedToStart;
        Log($"{Name} failed to start: {detail.Split('\n')[0]}", isError: true);
    }
}
