using System.Security.Cryptography;
using AspireKv.Node.Hosting;
using AspireKv.Node.Replication;
using AspireKv.Node.Snapshots.Peer;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AspireKv.Node.Snapshots;

/// <summary>
/// Hands this node's current state to a peer that cannot catch up from the log: a snapshot taken
/// now (so it is as new as this node), written to a file of its own and streamed with its size,
/// SHA-256 and log identity. Only a node that serves hands one over, and only to a node of the
/// same log.
/// </summary>
public sealed class PeerSnapshotService(Replica replica, IOptions<NodeOptions> options, ILogger<PeerSnapshotService> logger) : PeerSnapshots.PeerSnapshotsBase
{
    private const int ChunkBytes = 256 * 1024;

    public override async Task Fetch(FetchSnapshotRequest request, IServerStreamWriter<SnapshotChunk> responseStream, ServerCallContext context)
    {
        var health = replica.Health;
        if (health.Health is not (ReplicaHealth.Serving or ReplicaHealth.Degraded))
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"Node {replica.NodeId} does not serve now ({health.Detail}), so it has no state to hand over."));
        }

        var capture = replica.Capture();
        if (request.LogIdentity.Length > 0 && capture.LogIdentity.Length > 0 && request.LogIdentity != capture.LogIdentity)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Node {replica.NodeId} follows another log than node {request.NodeId} (their log identities differ)."));
        }

        if (capture.AppliedOffset < request.MinAppliedOffset)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Node {replica.NodeId} has applied the log only up to offset {capture.AppliedOffset}, before offset {request.MinAppliedOffset} that node {request.NodeId} needs."));
        }

        var path = Path.Combine(options.Value.DataPath!, $"peer-{Guid.NewGuid():N}.snapshot");
        try
        {
            await Task.Run(() => SnapshotStore.Write(capture, replica.NodeId, path), context.CancellationToken).ConfigureAwait(false);
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, ChunkBytes, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var sha256 = await SHA256.HashDataAsync(file, context.CancellationToken).ConfigureAwait(false);
            file.Position = 0;
            logger.LogInformation(
                "Handing node {Peer} a snapshot: revision {Revision}, log offset {Offset}, {Bytes} bytes.", request.NodeId, capture.Revision, capture.AppliedOffset, file.Length);
            await responseStream.WriteAsync(new SnapshotChunk
            {
                Info = new SnapshotInfo
                {
                    NodeId = replica.NodeId,
                    LogIdentity = capture.LogIdentity,
                    AppliedOffset = capture.AppliedOffset,
                    Revision = capture.Revision,
                    SizeBytes = file.Length,
                    Sha256 = ByteString.CopyFrom(sha256),
                },
            }, context.CancellationToken).ConfigureAwait(false);

            var buffer = new byte[ChunkBytes];
            int read;
            while ((read = await file.ReadAsync(buffer, context.CancellationToken).ConfigureAwait(false)) > 0)
            {
                await responseStream.WriteAsync(new SnapshotChunk { Data = ByteString.CopyFrom(buffer, 0, read) }, context.CancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
