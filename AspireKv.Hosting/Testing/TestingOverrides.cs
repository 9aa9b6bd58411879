using AspireKv.Hosting.AppModel;

namespace AspireKv.Hosting.Testing;

/// <summary>
/// What the testing builder changes about an AppHost it runs: a private state folder, extra
/// configuration, no console output, and a hand-over of the built application to the test
/// instead of running it until Ctrl+C.
/// </summary>
internal sealed class TestingOverrides
{
    private static readonly AsyncLocal<TestingOverrides?> Ambient = new();
    private readonly TaskCompletionSource<DistributedApplication> _built = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TestingOverrides(string stateDirectory, IReadOnlyDictionary<string, string?> configuration)
    {
        StateDirectory = stateDirectory;
        Configuration = configuration;
    }

    /// <summary>Set while the testing builder runs an AppHost's entry point (it flows into that call).</summary>
    public static TestingOverrides? Current
    {
        get => Ambient.Value;
        set => Ambient.Value = value;
    }

    public string StateDirectory { get; }

    public IReadOnlyDictionary<string, string?> Configuration { get; }

    public Task<DistributedApplication> Built => _built.Task;

    /// <summary>Called by <see cref="DistributedApplication.RunAsync"/>: gives the application to the test and waits until the test is done with it.</summary>
    public async Task HandOverAsync(DistributedApplication app)
    {
        _built.TrySetResult(app);
        await _released.Task.ConfigureAwait(false);
    }

    public void Fail(Exception exception) => _built.TrySetException(exception);

    public void Release() => _released.TrySetResult();
}
