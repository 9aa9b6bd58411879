using AspireKv.Hosting.AppModel;

namespace AspireKv.Hosting.Testing;

/// <summary>
/// How the testing builder takes an AppHost's application: instead of running it until Ctrl+C,
/// the entry point's <c>Run</c> hands it to the test and waits until the test is done with it.
/// </summary>
internal sealed class HandOver
{
    private readonly TaskCompletionSource<DistributedApplication> _built = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<DistributedApplication> Built => _built.Task;

    /// <summary>Runs in place of <see cref="DistributedApplication.Run"/> (a <see cref="DistributedApplicationEvents"/> subscription).</summary>
    public async Task RunAsync(DistributedApplication app)
    {
        _built.TrySetResult(app);
        await _released.Task.ConfigureAwait(false);
    }

    public void Fail(Exception exception) => _built.TrySetException(exception);

    public void Release() => _released.TrySetResult();
}
