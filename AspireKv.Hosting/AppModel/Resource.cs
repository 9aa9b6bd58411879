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
/// Something the AppHost runs, as data: its name and kind, the annotations its declaration gave it
/// (references, waits, endpoints, environment), and the state the orchestrator last observed. It
/// does not run itself: the orchestrator's runner for its kind starts, stops and watches it.
/// </summary>
public abstract class Resource
{
    private ResourceState _state = ResourceState.NotStarted;

    protected Resource(string name, string type)
    {
        Name = name;
        Type = type;
    }

    public string Name { get; }

    /// <summary>What kind of resource it is: <c>rabbitmq</c>, <c>rabbitmq-broker</c> or <c>node</c>.</summary>
    public string Type { get; }

    /// <summary>What the declaration says about the resource, in the order it said it.</summary>
    public List<IResourceAnnotation> Annotations { get; } = [];

    public ResourceState State
    {
        get => _state;
        internal set
        {
            if (_state != value)
            {
                _state = value;
                Changed?.Invoke(this);
            }
        }
    }

    /// <summary>More about the state, such as an exit code or why it failed.</summary>
    public string? StateDetail { get; internal set; }

    public ResourceHealth Health { get; internal set; } = ResourceHealth.Unknown;

    public int? Pid { get; internal set; }

    public DateTimeOffset? StartedAt { get; internal set; }

    /// <summary>How many times the resource was started again after its first start.</summary>
    public int RestartCount { get; internal set; }

    /// <summary>The endpoints whose addresses have been allocated, by name (<c>grpc</c>, <c>management</c>).</summary>
    public IReadOnlyDictionary<string, Uri> Endpoints =>
        Annotations.OfType<EndpointAnnotation>().Where(e => e.Address is not null).ToDictionary(e => e.Name, e => e.Address!);

    /// <summary>The resource's recent console output.</summary>
    public LogBuffer Logs { get; } = new(5000);

    /// <summary>The resources this one waits for before it starts (its <see cref="WaitAnnotation"/>s).</summary>
    public IReadOnlyList<Resource> WaitsFor => [.. Annotations.OfType<WaitAnnotation>().Select(w => w.Target)];

    /// <summary>Whether the AppHost manages the resource's process (an existing broker it only points at is not).</summary>
    public virtual bool IsManaged => true;

    /// <summary>Whether it can be paused and resumed (nodes: SIGSTOP and SIGCONT).</summary>
    public virtual bool CanPause => false;

    /// <summary>Raised when the state changes.</summary>
    public event Action<Resource>? Changed;

    /// <summary>Receives every log line of the resource (set by the application).</summary>
    internal Action<LogLine>? Output { get; set; }

    /// <summary>
    /// Whether the output of the resource's own program reaches the terminal as well as its
    /// console log. The broker's boot output does only with --verbose: it would scroll the
    /// dashboard link away.
    /// </summary>
    internal bool EchoOutput { get; set; } = true;

    /// <summary>The endpoint declared as <paramref name="name"/>.</summary>
    internal EndpointAnnotation Endpoint(string name) =>
        Annotations.OfType<EndpointAnnotation>().FirstOrDefault(e => e.Name == name)
        ?? throw new InvalidOperationException($"{Name} declares no endpoint '{name}'.");

    internal void Log(LogLine line)
    {
        Logs.Add(line);
        Output?.Invoke(line);
    }

    /// <summary>A line the resource's program wrote: always in its console log, on the terminal when <see cref="EchoOutput"/>.</summary>
    internal void LogOutput(LogLine line)
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

    internal void Log(string text, bool isError = false) => Log(new LogLine(DateTimeOffset.UtcNow, Name, isError, text));

    /// <summary>Writes what a user asked of the resource (start, stop, kill, restart) to its log and the terminal.</summary>
    internal void LogAction(string action) => Log($"{Name}: {action} requested.");

    /// <summary>Writes why an action a user asked for failed, as <see cref="LogAction"/> wrote the request.</summary>
    internal void LogActionFailed(string action, Exception error) => Log($"{Name}: {action} failed: {error.Message.Split('\n')[0]}", isError: true);

    internal void MarkStarting()
    {
        if (State is ResourceState.Exited or ResourceState.FailedToStart && StartedAt is not null)
        {
            RestartCount++;
        }

        StateDetail = null;
        Health = ResourceHealth.Unknown;
        State = ResourceState.Starting;
    }

    internal void MarkRunning()
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

    internal void MarkExited(string detail, bool log = true)
    {
        StateDetail = detail;
        Health = ResourceHealth.Unknown;
        State = ResourceState.Exited;
        if (log)
        {
            Log($"{Name} {detail}.");
        }
    }

    internal void MarkFailed(string detail)
    {
        StateDetail = detail;
        Health = ResourceHealth.Unknown;
        State = ResourceState.FailedToStart;
        Log($"{Name} failed to start: {detail.Split('\n')[0]}", isError: true);
    }
}
