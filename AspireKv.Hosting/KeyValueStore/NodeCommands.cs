using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using AspireKv.Hosting.AppHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireKv.Hosting.KeyValueStore;

/// <summary>
/// A node's chaos controls, on the dashboard and through <c>ResourceCommands</c>: pause and resume
/// (SIGSTOP, SIGCONT), kill (SIGKILL), and leave (stop it and delete its data; it rejoins empty).
/// </summary>
internal static class NodeCommands
{
    public const string Pause = "pause";
    public const string Resume = "resume";
    public const string Kill = "kill";
    public const string Leave = "leave";
    private const string Paused = "Paused";

    public static void Add(IResourceBuilder<ProjectResource> node, KeyValueStoreResource store, AppHostFolder folder)
    {
        var name = node.Resource.Name;
        node.WithCommand(Pause, "Pause", context => SignalAsync(context, node.Resource, Signals.SigStop, Paused),
            Options("SIGSTOP to the node: it stops answering and applying, as a stalled machine, until resumed.", "Pause", null, KnownResourceStates.Running));
        node.WithCommand(Resume, "Resume", context => SignalAsync(context, node.Resource, Signals.SigCont, KnownResourceStates.Running),
            Options("SIGCONT to a paused node: it catches up from the log and serves again.", "Play", null, Paused));
        node.WithCommand(Kill, "Kill", KillAsync,
            Options("SIGKILL to the node process: it ends at once, as in a crash. Start brings it back with its data.", "DismissCircle", $"Kill {name} with SIGKILL?", KnownResourceStates.Running, Paused));
        node.WithCommand(Leave, "Leave", context => LeaveAsync(context, node.Resource, store, folder),
            Options("Stops the node and deletes its data folder. Started again, it joins empty and catches up.", "ArrowExit", $"Stop {name} and delete its data?", KnownResourceStates.Running, Paused));
    }

    /// <summary>A command's description, icon and confirmation, enabled in the states given.</summary>
    private static CommandOptions Options(string description, string icon, string? confirm, params string[] enabledIn) => new()
    {
        Description = description,
        IconName = icon,
        ConfirmationMessage = confirm,
        UpdateState = context => enabledIn.Contains(context.ResourceSnapshot.State?.Text) ? ResourceCommandState.Enabled : ResourceCommandState.Disabled,
    };

    private static async Task<ExecuteCommandResult> SignalAsync(ExecuteCommandContext context, IResource node, int signal, string state)
    {
        if (ResourceProcess.PidOf(context.Services, context.ResourceName) is not { } pid || !Signals.Send(pid, signal))
        {
            return CommandResults.Failure($"{context.ResourceName} has no process to signal.");
        }

        await context.Services.GetRequiredService<ResourceNotificationService>().PublishUpdateAsync(node, context.ResourceName, s => s with { State = state }).ConfigureAwait(false);
        context.Logger.LogNodeSignal(context.ResourceName, signal == Signals.SigStop ? "paused (SIGSTOP)" : "resumed (SIGCONT)");
        return CommandResults.Success();
    }

    private static async Task<ExecuteCommandResult> KillAsync(ExecuteCommandContext context)
    {
        if (ResourceProcess.PidOf(context.Services, context.ResourceName) is not { } pid)
        {
            return CommandResults.Failure($"{context.ResourceName} has no process to kill.");
        }

        context.Logger.LogNodeSignal(context.ResourceName, "killed (SIGKILL)");
        await ResourceProcess.KillAsync(pid).ConfigureAwait(false);
        return CommandResults.Success();
    }

    private static async Task<ExecuteCommandResult> LeaveAsync(ExecuteCommandContext context, IResource node, KeyValueStoreResource store, AppHostFolder folder)
    {
        var name = node.Name;
        var serving = store.Nodes.Count(n => n.Name != name && !folder.Left.Contains(n.Name)
            && store.NodeStates.GetValueOrDefault(n.Name)?.State?.Text == KnownResourceStates.Running);
        if (serving == 0)
        {
            return CommandResults.Failure($"{name} is the last serving node of {store.Name}; it cannot leave.");
        }

        lock (folder.Left)
        {
            folder.Left.Add(name);
        }

        var notifications = context.Services.GetRequiredService<ResourceNotificationService>();
        var pid = ResourceProcess.PidOf(context.Services, context.ResourceName);
        if (pid is not null)
        {
            Signals.Send(pid.Value, Signals.SigCont);
        }

        var stopped = await context.Services.GetRequiredService<ResourceCommandService>()
            .ExecuteCommandAsync(context.ResourceName, KnownResourceCommands.StopCommand, context.CancellationToken).ConfigureAwait(false);
        if (!stopped.Success)
        {
            return stopped;
        }

        // DCP says a node has exited a moment after its process is gone; it has left once its state says so too.
        await Signals.WaitUntilGoneAsync(pid, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        await notifications.WaitForResourceAsync(name, ParentState.Terminal, context.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), context.CancellationToken).ConfigureAwait(false);

        var data = folder.FolderOf(name);
        if (Directory.Exists(data))
        {
            Directory.Delete(data, recursive: true);
        }

        context.Logger.LogNodeSignal(name, $"left {store.Name}; its data folder {data} is deleted");
        return CommandResults.Success();
    }
}

internal static partial class NodeCommandLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Node} is {What}, as asked.")]
    public static partial void LogNodeSignal(this ILogger logger, string node, string what);
}
