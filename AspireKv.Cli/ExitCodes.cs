using Grpc.Core;

namespace AspireKv.Cli;

/// <summary>The exit codes of <c>aspirekv</c>, as the README documents them.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The key does not exist.</summary>
    public const int NotFound = 1;

    /// <summary>The command line or the input was wrong (also INVALID_ARGUMENT and RESOURCE_EXHAUSTED from the node).</summary>
    public const int Usage = 2;

    /// <summary>No node could be reached, the node could not serve (UNAVAILABLE), or the timeout passed.</summary>
    public const int Unavailable = 3;

    /// <summary>A compare-and-set did not match (FAILED_PRECONDITION).</summary>
    public const int FailedPrecondition = 4;

    /// <summary>Any other error.</summary>
    public const int Error = 5;

    public static int From(StatusCode code) => code switch
    {
        StatusCode.OK => Ok,
        StatusCode.NotFound => NotFound,
        StatusCode.InvalidArgument or StatusCode.ResourceExhausted or StatusCode.OutOfRange => Usage,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled => Unavailable,
        StatusCode.FailedPrecondition or StatusCode.Aborted => FailedPrecondition,
        _ => Error,
    };
}

/// <summary>A failure the CLI reports with a message and an exit code.</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
