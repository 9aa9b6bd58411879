using System.Globalization;
using AspireKv.Client;
using AspireKv.Node.StateMachine;
using Grpc.Core;

namespace AspireKv.Node.Grpc;

/// <summary>The statuses the native API answers for what the state machine decided, in one place.</summary>
public static class OutcomeStatus
{
    /// <summary>Returns <paramref name="result"/> when it is a success; throws the status that says why it is not.</summary>
    public static CommandResult Check(CommandResult result) => result.Outcome switch
    {
        CommandOutcome.Rejected => throw new RpcException(new Status(StatusCode.InvalidArgument, $"the command was rejected when applied: {result.Reason}.")),
        CommandOutcome.Duplicate => throw new RpcException(new Status(StatusCode.Internal, "the command was applied as a duplicate of itself; this is a bug.")),
        CommandOutcome.LeaseNotFound => throw new RpcException(new Status(StatusCode.NotFound, $"{result.Reason}.")),
        CommandOutcome.LeaseExists => throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{result.Reason}; grant it with another id, or 0 to let the node choose one.")),
        CommandOutcome.KeyNotFound => throw new RpcException(new Status(StatusCode.InvalidArgument, $"{result.Reason}.")),
        CommandOutcome.AuthRefused => throw Etcd.EtcdErrors.Auth(result.Reason!),
        CommandOutcome.Compacted or CommandOutcome.FutureRevision => throw OutOfRange(result.Reason!, result.CompactRevision, result.Revision),
        _ => result,
    };

    /// <summary>The status for a read at a revision that is compacted or in the future.</summary>
    public static RpcException ReadError(ReadError error, long asked) => OutOfRange(
        error.Outcome == CommandOutcome.FutureRevision
            ? $"revision {asked} is in the future; the store is at revision {error.Revision}"
            : $"revision {asked} has been compacted; the oldest revision this node serves is {error.CompactRevision}",
        error.CompactRevision,
        error.Revision);

    private static RpcException OutOfRange(string reason, long compactRevision, long revision) =>
        new(new Status(StatusCode.OutOfRange, $"{reason}."), new Metadata
        {
            { KvMetadata.CompactRevisionTrailer, compactRevision.ToString(CultureInfo.InvariantCulture) },
            { KvMetadata.RevisionTrailer, revision.ToString(CultureInfo.InvariantCulture) },
        });
}
