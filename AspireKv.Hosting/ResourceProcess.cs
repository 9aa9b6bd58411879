using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace AspireKv.Hosting;

/// <summary>The process DCP runs for a resource, as its snapshot says (<c>executable.pid</c>).</summary>
internal static class ResourceProcess
{
    public const string PidProperty = "executable.pid";

    /// <summary>The pid of resource instance <paramref name="resourceId"/>'s process; null when it has none running.</summary>
    public static int? PidOf(IServiceProvider services, string resourceId) =>
        services.GetRequiredService<ResourceNotificationService>().TryGetCurrentState(resourceId, out var current) ? PidOf(current.Snapshot) : null;

    public static int? PidOf(CustomResourceSnapshot snapshot) =>
        snapshot.Properties.FirstOrDefault(p => p.Name == PidProperty)?.Value switch
        {
            int pid => pid,
            long pid => (int)pid,
            string text when int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) => pid,
            _ => null,
        };

    /// <summary>SIGKILL to each live pid of <paramref name="pids"/>, then waits until all are gone.</summary>
    public static async Task KillAsync(params int?[] pids)
    {
        foreach (var pid in pids.OfType<int>().Where(Signals.IsAlive))
        {
            Signals.Send(pid, Signals.SigKill);
        }

        foreach (var pid in pids.OfType<int>())
        {
            await Signals.WaitUntilGoneAsync(pid, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
    }
}
