using AspireKv.Hosting.AppModel;

namespace AspireKv.Hosting.Orchestration;

/// <summary>
/// Runs an application's resources from their declarations: each by the runner for its kind, in
/// the order their <see cref="WaitAnnotation"/>s give, watched for health while they run, and
/// stopped dependents first.
/// </summary>
internal sealed class Orchestrator
{
    private readonly Dictionary<Type, ResourceRunner> _runners;
    private readonly DistributedApplicationContext _context;

    public Orchestrator(DistributedApplicationContext context)
    {
        _context = context;
        Brokers = new RabbitMqRunner();
        _runners = new ResourceRunner[] { Brokers, new BrokerRunner(Brokers), new NodeRunner() }.ToDictionary(r => r.ResourceType);
    }

    /// <summary>The runner of broker resources, which knows their servers and a cluster's stream leader.</summary>
    public RabbitMqRunner Brokers { get; }

    /// <summary>
    /// Starts every resource once what it waits for is running and healthy. Every endpoint is
    /// given its address first, since each node is told where its peers are.
    /// </summary>
    public async Task StartAllAsync(IReadOnlyList<Resource> resources, CancellationToken cancellationToken)
    {
        foreach (var resource in resources)
        {
            RunnerFor(resource).AllocateEndpoints(resource);
        }

        var starting = new Dictionary<Resource, Task>();
        Task StartInOrder(Resource resource)
        {
            if (!starting.TryGetValue(resource, out var task))
            {
                task = starting[resource] = StartAfterAsync(resource, [.. resource.WaitsFor.Select(StartInOrder)], cancellationToken);
            }

            return task;
        }

        await Task.WhenAll(resources.Select(StartInOrder).ToList()).ConfigureAwait(false);
    }

    /// <summary>Gives a resource added while the application runs its endpoints (before it is listed with the others, which read them); start it next.</summary>
    public void AllocateEndpoints(Resource resource) => RunnerFor(resource).AllocateEndpoints(resource);

    /// <summary>Stops every resource, those that wait for others first, then lets each runner release what it holds.</summary>
    public async Task StopAllAsync(IReadOnlyList<Resource> resources)
    {
        var runnable = resources.Where(r => _runners.ContainsKey(r.GetType())).ToList();
        await Task.WhenAll(runnable.Where(r => !runnable.Any(d => d.WaitsFor.Contains(r))).Select(StopQuietlyAsync)).ConfigureAwait(false);
        await Task.WhenAll(runnable.Select(StopQuietlyAsync)).ConfigureAwait(false);
        foreach (var resource in runnable)
        {
            await RunnerFor(resource).ReleaseAsync(resource).ConfigureAwait(false);
        }
    }

    public Task StartAsync(Resource resource, CancellationToken cancellationToken) => RunnerFor(resource).StartAsync(resource, _context, cancellationToken);

    public Task StopAsync(Resource resource) => RunnerFor(resource).StopAsync(resource);

    public Task KillAsync(Resource resource) => RunnerFor(resource).KillAsync(resource);

    public Task PauseAsync(Resource resource) => RunnerFor(resource).PauseAsync(resource);

    public Task ResumeAsync(Resource resource) => RunnerFor(resource).ResumeAsync(resource);

    public Task<ResourceHealth> CheckHealthAsync(Resource resource, CancellationToken cancellationToken) => RunnerFor(resource).CheckHealthAsync(resource, cancellationToken);

    /// <summary>Stops the resource, then lets its runner forget it: it is no longer part of the application.</summary>
    public async Task RemoveAsync(Resource resource)
    {
        var runner = RunnerFor(resource);
        await runner.StopAsync(resource).ConfigureAwait(false);
        await runner.ReleaseAsync(resource).ConfigureAwait(false);
    }

    /// <summary>Checks every resource's health every two seconds until <paramref name="stopping"/>.</summary>
    public async Task WatchHealthAsync(Func<IReadOnlyList<Resource>> resources, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                foreach (var resource in resources())
                {
                    resource.Health = await CheckHealthAsync(resource, stopping).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private ResourceRunner RunnerFor(Resource resource) =>
        _runners.GetValueOrDefault(resource.GetType())
        ?? throw new InvalidOperationException(
            $"{resource.Name} is a {resource.GetType().Name} ('{resource.Type}'), and the AppHost has no runner for that kind; " +
            $"it runs {string.Join(", ", _runners.Keys.Select(t => t.Name))}.");

    private async Task StartAfterAsync(Resource resource, IReadOnlyList<Task> dependencies, CancellationToken cancellationToken)
    {
        if (dependencies.Count > 0)
        {
            resource.Health = ResourceHealth.Unknown;
            await Task.WhenAll(dependencies).ConfigureAwait(false);
        }

        await StartAsync(resource, cancellationToken).ConfigureAwait(false);
    }

    private async Task StopQuietlyAsync(Resource resource)
    {
        try
        {
            await StopAsync(resource).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            // Stopping is best effort: the rest must stop too.
        }
    }
}
