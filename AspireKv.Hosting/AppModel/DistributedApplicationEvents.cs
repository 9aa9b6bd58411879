namespace AspireKv.Hosting.AppModel;

/// <summary>
/// The moments of an application's life that code outside Program.cs can hook into, as .NET
/// Aspire's hosting raises them for its testing factory: a builder was created (its configuration
/// can still be added to before Program.cs declares anything), an application was built, and it is
/// about to run (a subscriber may run it instead, as a test does). A subscription holds for the
/// async flow that made it and the code that flow starts (such as an AppHost's entry point), so
/// that AppHosts started side by side by tests do not see each other's.
/// </summary>
public static class DistributedApplicationEvents
{
    private static readonly AsyncLocal<Subscription?> Current = new();

    /// <summary>
    /// Subscribes, for this async flow, until the result is disposed. <paramref name="run"/>, when
    /// given, replaces <see cref="DistributedApplication.Run"/>'s run-until-Ctrl+C with its own.
    /// </summary>
    public static IDisposable Subscribe(
        Action<DistributedApplicationBuilder>? builderCreated = null,
        Action<DistributedApplication>? built = null,
        Func<DistributedApplication, Task>? run = null)
    {
        var subscription = new Subscription(Current.Value, builderCreated, built, run);
        Current.Value = subscription;
        return subscription;
    }

    internal static void RaiseBuilderCreated(DistributedApplicationBuilder builder) => Current.Value?.BuilderCreated?.Invoke(builder);

    internal static void RaiseBuilt(DistributedApplication app) => Current.Value?.Built?.Invoke(app);

    /// <summary>The subscriber's way of running the application, if one was given.</summary>
    internal static Func<DistributedApplication, Task>? RunOverride => Current.Value?.Run;

    private sealed class Subscription(
        Subscription? previous,
        Action<DistributedApplicationBuilder>? builderCreated,
        Action<DistributedApplication>? built,
        Func<DistributedApplication, Task>? run) : IDisposable
    {
        public Action<DistributedApplicationBuilder>? BuilderCreated => builderCreated;

        public Action<DistributedApplication>? Built => built;

        public Func<DistributedApplication, Task>? Run => run;

        public void Dispose()
        {
            if (Current.Value == this)
            {
                Current.Value = previous;
            }
        }
    }
}
