using AspireKv.V1;
using Grpc.Core;

namespace AspireKv.Cli.Verbs;

/// <summary>
/// <c>watch</c>: prints the changes to a key or prefix as they come, until Ctrl+C. When the node
/// goes away the watch starts again from the revision after the last one printed (on another
/// node when none was named), so no event is lost or printed twice.
/// </summary>
internal static class WatchVerb
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Watches until <paramref name="stop"/>; <paramref name="started"/> is told the first revision watched, before any event.</summary>
    public static async Task<int> RunAsync(CliContext context, WatchRequest request, CancellationToken stop, Action<long>? started = null)
    {
        var next = request.StartRevision;
        try
        {
            if (next == 0)
            {
                // "From now on" is made explicit, so that a watch started again after a failure resumes where this one began.
                var status = await context.CallAsync(c => c.StatusAsync(cancellationToken: stop)).ConfigureAwait(false);
                next = status.AppliedRevision + 1;
            }

            started?.Invoke(next);

            while (!stop.IsCancellationRequested)
            {
                var watch = request.Clone();
                watch.StartRevision = next;
                try
                {
                    await foreach (var response in context.Client(context.Target.Address).WatchAsync(watch, stop).ConfigureAwait(false))
                    {
                        Print(context.Output, response);
                        next = response.Revision + 1;
                    }
                }
                catch (RpcException ex) when (!stop.IsCancellationRequested && Resumable(ex.StatusCode))
                {
                    await ResumeAsync(context, ex, next, stop).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // Ctrl+C: the watch ends cleanly
        }

        return ExitCodes.Ok;
    }

    /// <summary>Prints one revision's events: a line of text each, or a JSON object per line.</summary>
    public static void Print(Output output, WatchResponse response)
    {
        foreach (var change in response.Events)
        {
            if (output.Format == OutputFormat.Json)
            {
                output.JsonLine(Output.ToJson(change, response.Revision));
            }
            else
            {
                output.Line(Output.EventText(change, response.Revision));
            }
        }

        output.Out.Flush();
    }

    /// <summary>The node went away, or stopped the watch because it fell behind: both are worth another try.</summary>
    private static bool Resumable(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.ResourceExhausted or StatusCode.Aborted or StatusCode.DeadlineExceeded;

    private static async Task ResumeAsync(CliContext context, RpcException failure, long next, CancellationToken stop)
    {
        var from = context.Target;
        if (!context.ExplicitTarget && context.Resolver.KnownNodes() is { Count: > 1 } nodes)
        {
            var index = nodes.ToList().FindIndex(n => n.Address == from.Address);
            context.Target = nodes[(index + 1) % nodes.Count];
        }

        context.Output.Error.WriteLine($"watch on {from.Name} ended ({failure.StatusCode}: {failure.Status.Detail}); watching again on {context.Target.Name} from revision {next}");
        await Task.Delay(RetryDelay, stop).ConfigureAwait(false);
    }
}
