using AspireKv.Cli.Bench;
using AspireKv.Cli.Targeting;

namespace AspireKv.Cli.Verbs;

/// <summary><c>bench</c>: runs the benchmark against the chosen nodes and prints the report.</summary>
internal static class BenchVerb
{
    public static async Task<int> RunAsync(CliContext context, BenchOptions options, string? targets, CancellationToken cancellationToken)
    {
        IReadOnlyList<Target> nodes = !string.IsNullOrWhiteSpace(targets)
            ? await Task.WhenAll(targets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t => context.Resolver.ResolveAsync(t, cancellationToken))).ConfigureAwait(false)
            : context.ExplicitTarget ? [context.Target] : context.Resolver.KnownNodes() is { Count: > 0 } known ? known : [context.Target];

        var progress = context.Output.Format == OutputFormat.Json ? TextWriter.Null : context.Output.Error;
        var report = await new BenchRunner(options, nodes, context.Client, context.EtcdKv, progress).RunAsync(cancellationToken).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(report.ToJson());
        }
        else
        {
            context.Output.Out.Write(report.ToText());
        }

        return report.Results.Any(r => r.Operations == 0) ? ExitCodes.Unavailable : ExitCodes.Ok;
    }
}
