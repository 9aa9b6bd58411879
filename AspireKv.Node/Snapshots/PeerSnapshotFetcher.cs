using System.Security.Cryptography;
using AspireKv.Client.Discovery;
using AspireKv.Node.Replication;
using AspireKv.Node.Snapshots.Peer;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace AspireKv.Node.Snapshots;

/// <summary>
/// Fetches a snapshot from a peer over gRPC (<c>aspirekv.peer.v1.PeerSnapshots/Fetch</c>), trying
/// each peer in turn. What arrives is written to a file beside this node's snapshot and checked
/// before anything of it is used: its size and SHA-256 against what the peer announced, the
/// file's own header checksum, and its log identity against the peer's word and this node's own.
/// Only then is it renamed over this node's snapshot (so a restart starts from it too) and loaded.
/// </summary>
public sealed class PeerSnapshotFetcher(IReadOnlyList<ServiceEndpoint> peers, SnapshotStore store, string nodeId, ILogger<PeerSnapshotFetcher> logger) : IStateSource
{
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromMinutes(5);

    public async Task<FetchedState> FetchAsync(ByteString logIdentity, long minAppliedOffset, CancellationToken cancellationToken)
    {
        var answers = new List<string>();
        foreach (var peer in peers.Where(p => p.Service != nodeId))
        {
            try
            {
                var capture = await FetchFromAsync(peer, logIdentity, minAppliedOffset, cancellationToken).ConfigureAwait(false);
                return new FetchedState(KvStateMachine.Restore(capture), peer.Service);
            }
            catch (Exception ex) when (ex is RpcException or InvalidDataException or InvalidProtocolBufferException or IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                var reason = ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message;
                logger.LogWarning("Node {Peer} could not hand over a snapshot: {Reason}", peer.Service, reason);
                answers.Add($"{peer.Service}: {reason}");
            }
        }

        throw new StateUnavailableException(answers.Count == 0
            ? "this node knows no peer to ask for a snapshot (services__<name>__grpc__0)"
            : $"no peer could hand over a snapshot ({string.Join("; ", answers)})");
    }

    /// <summary>
    /// Checks a received snapshot file against what its peer announced and what this node needs;
    /// returns its state, or throws <see cref="InvalidDataException"/> saying what is wrong.
    /// </summary>
    internal static StateCapture Verify(string path, SnapshotInfo info, long receivedBytes, byte[] receivedSha256, ByteString logIdentity, long minAppliedOffset)
    {
        if (receivedBytes != info.SizeBytes)
        {
            throw new InvalidDataException($"the snapshot from {info.NodeId} is {receivedBytes} bytes; the peer announced {info.SizeBytes}.");
        }

        if (!receivedSha256.AsSpan().SequenceEqual(info.Sha256.Span))
        {
            throw new InvalidDataException($"the snapshot from {info.NodeId} does not match the checksum the peer announced.");
        }

        var capture = SnapshotStore.Read(path) ?? throw new InvalidDataException($"the snapshot from {info.NodeId} was not written.");
        if (capture.LogIdentity != info.LogIdentity)
        {
            throw new InvalidDataException($"the snapshot from {info.NodeId} carries another log identity than the peer announced.");
        }

        if (logIdentity.Length > 0 && capture.LogIdentity != logIdentity)
        {
            throw new InvalidDataException(
                $"the snapshot from {info.NodeId} is of another log (identity {Convert.ToHexStringLower(capture.LogIdentity.Span)[..12]}, this node's is {Convert.ToHexStringLower(logIdentity.Span)[..12]}).");
        }

        if (capture.AppliedOffset < minAppliedOffset)
        {
            throw new InvalidDataException($"the snapshot from {info.NodeId} ends at log offset {capture.AppliedOffset}, before offset {minAppliedOffset} that this node needs.");
        }

        return capture;
    }

    private async Task<StateCapture> FetchFromAsync(ServiceEndpoint peer, ByteString logIdentity, long minAppliedOffset, CancellationToken cancellationToken)
    {
        logger.LogInformation("Asking node {Peer} at {Address} for a snapshot that covers log offset {Offset}.", peer.Service, peer.Address, minAppliedOffset);
        using var channel = GrpcChannel.ForAddress(peer.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 4 * 1024 * 1024 });
        var client = new PeerSnapshots.PeerSnapshotsClient(channel);
        using var call = client.Fetch(
            new FetchSnapshotRequest { NodeId = nodeId, LogIdentity = logIdentity, MinAppliedOffset = minAppliedOffset },
            deadline: DateTime.UtcNow + FetchTimeout,
            cancellationToken: cancellationToken);

        var received = store.Path + ".peer";
        try
        {
            SnapshotInfo? info = null;
            long bytes = 0;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = new FileStream(received, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    switch (chunk.PartCase)
                    {
                        case SnapshotChunk.PartOneofCase.Info when info is null:
                            info = chunk.Info;
                            break;
                        case SnapshotChunk.PartOneofCase.Data when info is not null:
                            hash.AppendData(chunk.Data.Span);
                            await file.WriteAsync(chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
                            bytes += chunk.Data.Length;
                            break;
                        default:
                            throw new InvalidDataException($"node {peer.Service} sent the snapshot out of order (a {chunk.PartCase} where it was not expected).");
                    }
                }

                file.Flush(flushToDisk: true);
            }

            if (info is null)
            {
                throw new InvalidDataException($"node {peer.Service} ended the call without a snapshot.");
            }

            var capture = Verify(received, info, bytes, hash.GetHashAndReset(), logIdentity, minAppliedOffset);
            SnapshotStore.Install(received, store.Path);
            store.Record(capture, $"installed from {peer.Service}");
            logger.LogInformation(
                "Installed the snapshot from node {Peer}: revision {Revision}, {Keys} keys, resuming at log offset {Offset}.", peer.Service, capture.Revision, capture.Keys.Count, capture.AppliedOffset);
            return capture;
        }
        finally
        {
            File.Delete(received);
        }
    }
}
