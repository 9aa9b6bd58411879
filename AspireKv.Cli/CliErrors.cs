using AspireKv.Cli.Targeting;
using AspireKv.Client;
using Grpc.Core;

namespace AspireKv.Cli;

/// <summary>What a failed call says to a person: which node, what went wrong, and what to do about it.</summary>
internal static class CliErrors
{
    /// <summary>
    /// The exit code and message of a failure the CLI reports (a node's status, a
    /// <see cref="CliException"/>, input it cannot read); null for anything else.
    /// </summary>
    public static (int ExitCode, string Message)? Explain(Exception error, CliContext context) => error switch
    {
        RpcException rpc => (ExitCodes.From(rpc.StatusCode), Describe(rpc, context)),
        CliException cli => (cli.ExitCode, cli.Message),
        InvalidDataException bad => (ExitCodes.Usage, bad.Message),
        _ => null,
    };

    public static string Describe(RpcException error, CliContext context)
    {
        var target = context.Target;
        if (target.IsGuess && KvClient.NeverReachedNode(error))
        {
            return $"No AspireKv node answers: {TargetResolver.NoAppHost}, and nothing listens at {target.Name}, where a node run on its own listens. {TargetResolver.HowToStart}";
        }

        return error.StatusCode switch
        {
            StatusCode.DeadlineExceeded =>
                $"{target} did not answer within {Durations.Describe(context.Timeout)} (--timeout). The node may be overloaded, paused or cut off from the broker; try again, another node with --target, or a longer --timeout.",
            _ when KvClient.NeverReachedNode(error) =>
                $"{target} cannot be reached: {error.Status.Detail}",
            _ => $"{error.StatusCode}: {error.Status.Detail}",
        };
    }
}
