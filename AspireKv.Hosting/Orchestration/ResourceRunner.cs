using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.Orchestration;

/// <summary>
/// Runs the resources of one kind for the orchestrator: it starts, stops, kills and checks them,
/// keeps what runs them (processes, servers) to itself, and writes what it observes into the
/// resource's state.
/// </summary>
internal abstract class ResourceRunner
{
    private readonly Dictionary<Resource, int> _generations = [];

    /// <summary>The kind of resource this runner runs.</summary>
    public abstract Type ResourceType { get; }

    /// <summary>Gives the resource's endpoints their addresses; the orchestrator calls it for every resource before any starts.</summary>
    public virtual void AllocateEndpoints(Resource resource)
    {
    }

    public abstract Task StartAsync(Resource resource, DistributedApplicationContext context, CancellationToken cancellationToken);

    public abstract Task StopAsync(Resource resource);

    public abstract Task KillAsync(Resource resource);

    /// <summary>Freezes the running resource where it is (SIGSTOP), as a hung machine would be.</summary>
    public virtual Task PauseAsync(Resource resource) => throw new InvalidOperationException($"{resource.Name} cannot be paused.");

    /// <summary>Lets a paused resource go on (SIGCONT).</summary>
    public virtual Task ResumeAsync(Resource resource) => throw new InvalidOperationException($"{resource.Name} cannot be paused, so it cannot be resumed.");

    /// <summary>Checks the resource's health now.</summary>
    public abstract Task<ResourceHealth> CheckHealthAsync(Resource resource, CancellationToken cancellationToken);

    /// <summary>Releases what the runner holds for the resource (a container, ports); called once the application has stopped it.</summary>
    public virtual Task ReleaseAsync(Resource resource) => Task.CompletedTask;

    /// <summary>
    /// Follows a process: its exit moves the resource to Exited, unless it was asked to stop or a
    /// later start has replaced it (a restart's old process ends after the new one was started).
    /// </summary>
    protected void Track(Resource resource, ManagedProcess process)
    {
        resource.Pid = process.Pid;
        int generation;
        lock (_generations)
        {
            generation = _generations[resource] = _generations.GetValueOrDefault(resource) + 1;
        }

        _ = process.Exited.ContinueWith(
            t =>
            {
                bool current;
                lock (_generations)
                {
                    current = _generations[resource] == generation;
                }

                if (current && resource.State is ResourceState.Running or ResourceState.Starting or ResourceState.Paused)
                {
                    var detail = t.Result switch
                    {
                        137 or -9 => "killed (SIGKILL) by something other than the AppHost",
                        var code => $"exited unexpectedly with code {code}",
                    };
                    resource.Log($"{resource.Name} {detail}.", isError: true);
                    resource.MarkExited(detail, log: false);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}

/// <summary>A runner of resources of type <typeparamref name="T"/>.</summary>
internal abstract class ResourceRunner<T> : ResourceRunner
    where T : Resource
{
    public sealed override Type ResourceType => typeof(T);

    public sealed override void AllocateEndpoints(Resource resource) => AllocateEndpoints((T)resource);

    public sealed override Task StartAsync(Resource resource, DistributedApplicationContext context, CancellationToken cancellationToken) =>
        StartAsync((T)resource, context, cancellationToken);

    public sealed override Task StopAsync(Resource resource) => StopAsync((T)resource);

    public sealed override Task KillAsync(Resource resource) => KillAsync((T)resource);

    public sealed override Task PauseAsync(Resource resource) => PauseAsync((T)resource);

    public sealed override Task ResumeAsync(Resource resource) => ResumeAsync((T)resource);

    public sealed override Task<ResourceHealth> CheckHealthAsync(Resource resource, CancellationToken cancellationToken) =>
        CheckHealthAsync((T)resource, cancellationToken);

    public sealed override Task ReleaseAsync(Resource resource) => ReleaseAsync((T)resource);

    protected virtual void AllocateEndpoints(T resource)
    {
    }

    protected abstract Task StartAsync(T resource, DistributedApplicationContext context, CancellationToken cancellationToken);

    protected abstract Task StopAsync(T resource);

    protected abstract Task KillAsync(T resource);

    protected virtual Task PauseAsync(T resource) => base.PauseAsync(resource);

    protected virtual Task ResumeAsync(T resource) => base.ResumeAsync(resource);

    protected abstract Task<ResourceHealth> CheckHealthAsync(T resource, CancellationToken cancellationToken);

    protected virtual Task ReleaseAsync(T resource) => Task.CompletedTask;
}
