using AspireKv.Node.Auth;
using AspireKv.Node.Commands;
using AspireKv.Node.Grpc;
using AspireKv.Node.Replication;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AspireKv.Node.Etcd;

/// <summary>
/// etcd's <c>Lease</c> service over the node's leases: grant, revoke, the bidirectional keep-alive
/// stream, time-to-live and the list. Leases expire by the log's clock, as the native API's do
/// (docs/coordination.md).
/// </summary>
public sealed class EtcdLeaseService(Replica replica, EtcdIdentity identity, IOptions<KeyValueLimits> limits, Auth.AuthGate auth) : AspireKv.Etcd.Lease.LeaseBase
{
    private readonly RequestValidator _validate = new(limits.Value);

    public override async Task<AspireKv.Etcd.LeaseGrantResponse> LeaseGrant(AspireKv.Etcd.LeaseGrantRequest request, ServerCallContext context)
    {
        _validate.Ttl(request.TTL);
        _validate.LeaseId(request.ID, "ID");
        var id = request.ID != 0 ? request.ID : LeaseIds.New(); // chosen here, so that every replica agrees on it
        var result = await ProposeAsync(new Command { LeaseGrant = new LeaseGrantOp { Id = id, TtlSeconds = request.TTL } }, context).ConfigureAwait(false);
        return new AspireKv.Etcd.LeaseGrantResponse { Header = identity.Header(result.Revision), ID = id, TTL = result.Lease!.TtlSeconds };
    }

    public override async Task<AspireKv.Etcd.LeaseRevokeResponse> LeaseRevoke(AspireKv.Etcd.LeaseRevokeRequest request, ServerCallContext context)
    {
        _validate.LeaseId(request.ID, "ID");
        var caller = auth.CheckLeaseRevoke(context, request.ID);
        var result = await ProposeAsync(AuthCaller.Checked(new Command { LeaseRevoke = new LeaseRevokeOp { Id = request.ID } }, caller), context).ConfigureAwait(false);
        return new AspireKv.Etcd.LeaseRevokeResponse { Header = identity.Header(result.Revision) };
    }

    /// <summary>Each request renews its lease through the log; a lease that is gone is answered with TTL 0, as etcd does.</summary>
    public override async Task LeaseKeepAlive(IAsyncStreamReader<AspireKv.Etcd.LeaseKeepAliveRequest> requestStream, IServerStreamWriter<AspireKv.Etcd.LeaseKeepAliveResponse> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            _validate.LeaseId(request.ID, "ID");
            var result = await replica.ProposeAsync(new Command { LeaseKeepAlive = new LeaseKeepAliveOp { Id = request.ID } }, context.CancellationToken).ConfigureAwait(false);
            var response = result.Outcome == CommandOutcome.LeaseNotFound
                ? new AspireKv.Etcd.LeaseKeepAliveResponse { Header = identity.Header(result.Revision), ID = request.ID, TTL = 0 }
                : new AspireKv.Etcd.LeaseKeepAliveResponse { Header = identity.Header(result.Revision), ID = request.ID, TTL = Check(result).Lease!.TtlSeconds };
            await responseStream.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A lease that is gone is answered with TTL -1, as etcd does.</summary>
    public override async Task<AspireKv.Etcd.LeaseTimeToLiveResponse> LeaseTimeToLive(AspireKv.Etcd.LeaseTimeToLiveRequest request, ServerCallContext context)
    {
        _validate.LeaseId(request.ID, "ID");
        await replica.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
        var (lease, revision) = replica.Read(state => (state.FindLease(request.ID), state.Revision));
        var response = new AspireKv.Etcd.LeaseTimeToLiveResponse { Header = identity.Header(revision), ID = request.ID, TTL = -1 };
        if (lease is not null)
        {
            var now = (replica.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
            response.TTL = Math.Max(0, (lease.ExpiresAtMicros - now + 999_999) / 1_000_000);
            response.GrantedTTL = lease.TtlSeconds;
            if (request.Keys)
            {
                response.Keys.AddRange((lease.Keys ?? []).Select(ByteString.CopyFromUtf8));
            }
        }

        return response;
    }

    public override async Task<AspireKv.Etcd.LeaseLeasesResponse> LeaseLeases(AspireKv.Etcd.LeaseLeasesRequest request, ServerCallContext context)
    {
        await replica.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
        var (leases, revision) = replica.Read(state => (state.Leases().Select(l => l.Id).ToList(), state.Revision));
        var response = new AspireKv.Etcd.LeaseLeasesResponse { Header = identity.Header(revision) };
        response.Leases.AddRange(leases.Select(id => new AspireKv.Etcd.LeaseStatus { ID = id }));
        return response;
    }

    private async Task<CommandResult> ProposeAsync(Command command, ServerCallContext context) =>
        Check(await replica.ProposeAsync(command, context.CancellationToken).ConfigureAwait(false));

    private static CommandResult Check(CommandResult result) =>
        EtcdErrors.From(result.Outcome) is { } error ? throw error : OutcomeStatus.Check(result);
}
