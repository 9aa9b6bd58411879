using Aspire.Hosting.ApplicationModel;

namespace AspireKv.Hosting.AppHost;

/// <summary>
/// The state of a resource whose children have the processes (a broker cluster, a store): Running
/// while any child runs, Exited once every started child has ended, Starting before; a connection
/// string is announced when it first runs.
/// </summary>
internal static class ParentState
{
    public static readonly string[] Terminal = [KnownResourceStates.Exited, KnownResourceStates.Finished, KnownResourceStates.FailedToStart];

    /// <summary>Follows <paramref name="children"/>' states for the application's life, keeping each child's latest snapshot in <paramref name="latest"/>; call from the parent's InitializeResourceEvent.</summary>
    public static async Task FollowAsync(IResource parent, IReadOnlyCollection<IResource> children, string countProperty, InitializeResourceEvent e, CancellationToken cancellationToken, IDictionary<string, CustomResourceSnapshot>? latest = null)
    {
        await e.Eventing.PublishAsync(new BeforeResourceStartedEvent(parent, e.Services), cancellationToken).ConfigureAwait(false);
        var states = new Dictionary<string, string?>();
        string? shown = null;
        var announced = false;
        await foreach (var change in e.Notifications.WatchAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!children.Contains(change.Resource))
            {
                continue;
            }

            states[change.Resource.Name] = change.Snapshot.State?.Text;
            if (latest is not null)
            {
                latest[change.Resource.Name] = change.Snapshot;
            }

            var started = states.Values.Where(s => s is not (null or "NotStarted")).ToList();
            var running = started.Count(s => s == KnownResourceStates.Running);
            var state = running > 0 ? KnownResourceStates.Running
                : started.Count > 0 && started.All(s => Terminal.Contains(s)) ? KnownResourceStates.Exited
                : KnownResourceStates.Starting;
            var summary = $"{running} of {children.Count} running";
            if ($"{state} {summary}" == shown)
            {
                continue;
            }

            shown = $"{state} {summary}";
            await e.Notifications.PublishUpdateAsync(parent, s => s with
            {
                State = state,
                StartTimeStamp = state == KnownResourceStates.Running ? s.StartTimeStamp ?? DateTime.UtcNow : s.StartTimeStamp,
                Properties = [.. s.Properties.Where(p => p.Name != countProperty), new ResourcePropertySnapshot(countProperty, summary)],
            }).ConfigureAwait(false);
            if (state == KnownResourceStates.Running && !announced && parent is IResourceWithConnectionString)
            {
                announced = true;
                await e.Eventing.PublishAsync(new ConnectionStringAvailableEvent(parent, e.Services), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
