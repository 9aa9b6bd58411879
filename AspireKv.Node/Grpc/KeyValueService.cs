using System.Diagnostics;
using System.Globalization;
using AspireKv.Client;
using AspireKv.Node.Auth;
using AspireKv.Node.Commands;
using AspireKv.Node.Diagnostics;
using AspireKv.Node.Replication;
using AspireKv.Node.Snapshots;
using AspireKv.Node.StateMachine;
using AspireKv.Node.Watching;
using AspireKv.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AspireKv.Node.Grpc;

/// <summary>
/// The <c>aspirekv.v1.KeyValue</c> service. Each method reads like the protocol: validate, then
/// propose or read, then map the result. What the replica throws becomes a status in
/// <see cref="StatusMappingInterceptor"/>; what the state machine decided, in <see cref="OutcomeStatus"/>.
/// </summary>
public sealed class KeyValueService(Replica replica, IOptions<KeyValueLimits> limits, PeerDirectory peers, IReplicationLog log, AuthGate auth, SnapshotStore? snapshots = null) : KeyValue.KeyValueBase
{
    private readonly RequestValidator _validate = new(limits.Value);

    public override async Task<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        Count("put");
        ValidatePut(request);
        var put = NativeCommands.Put(request);
        var caller = auth.Check(context, AuthCaller.Writing(put.ReturnPrevious), put.Key, default);
        var result = await ProposeAsync(new Command { Put = put }, caller, context).ConfigureAwait(false);
        if (result.Outcome == CommandOutcome.PreconditionFailed)
        {
            var trailers = new Metadata { { KvMetadata.CurrentModRevisionTrailer, result.CurrentModRevision.ToString(CultureInfo.InvariantCulture) } };
            var actual = result.CurrentModRevision == 0 ? "does not exist" : $"has mod_revision {result.CurrentModRevision}";
            var expected = request.ExpectedModRevision == 0 ? "expected it not to exist" : $"expected mod_revision {request.ExpectedModRevision}";
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"compare-and-set failed: key {Quote(request.Key)} {actual}, but the request {expected}."), trailers);
        }

        return NativeCommands.PutResponse(result.Revision, result.Previous);
    }

    public override async Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        Count("get");
        _validate.Key(request.Key);
        _validate.Consistency(request.Consistency);
        _validate.Revision(request.Revision);
        await ReadBarrierAsync(request.Consistency, context).ConfigureAwait(false);
        auth.Check(context, KeyAccess.Read, request.Key, default);
        return ReadAt(request.Revision, state => NativeCommands.GetResponse(state.Get(request.Key, request.Revision), ReadRevision(state, request.Revision)));
    }

    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        Count("delete");
        _validate.Key(request.Key);
        var delete = NativeCommands.Delete(request);
        var caller = auth.Check(context, AuthCaller.Writing(delete.ReturnPrevious), KvStateMachine.RangeOf(delete));
        var result = await ProposeAsync(new Command { Delete = delete }, caller, context).ConfigureAwait(false);
        return NativeCommands.DeleteResponse(result);
    }

    public override async Task<ListResponse> List(ListRequest request, ServerCallContext context)
    {
        Count("list");
        _validate.Prefix(request.Prefix);
        _validate.Limit(request.Limit);
        _validate.Consistency(request.Consistency);
        _validate.Revision(request.Revision);
        var startAfter = ListContinuation.Parse(request.Continuation, request.Prefix);
        await ReadBarrierAsync(request.Consistency, context).ConfigureAwait(false);
        auth.Check(context, KeyAccess.Read, KeyRange.Prefix(request.Prefix));
        return ReadAt(request.Revision, state =>
        {
            var (entries, more) = state.List(request.Prefix, startAfter, request.Limit, limits.Value.MaxListPageBytes, request.KeysOnly, request.Revision);
            return NativeCommands.ListResponse(entries, more, ReadRevision(state, request.Revision), request.KeysOnly);
        });
    }

    public override async Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context)
    {
        Count("txn");
        _validate.Txn(request);
        foreach (var op in request.Success.Concat(request.Failure))
        {
            ValidateStep(op);
        }

        var txn = NativeCommands.Txn(request);
        var caller = auth.CheckTxn(context, txn);
        var result = await ProposeAsync(new Command { Txn = txn }, caller, context).ConfigureAwait(false);
        return NativeCommands.TxnResponse(request, result);
    }

    public override async Task Watch(WatchRequest request, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        Count("watch");
        if (!request.Prefix || request.Key.Length > 0)
        {
            _validate.Key(request.Key);
        }

        _validate.Revision(request.StartRevision, "start_revision");
        var range = request.Prefix ? KeyRange.Prefix(request.Key) : KeyRange.Single(request.Key);
        auth.Check(context, KeyAccess.Read, range);
        var start = request.StartRevision != 0 ? request.StartRevision : replica.Read(state => state.Revision + 1);
        try
        {
            await foreach (var revision in WatchFeed.FollowAsync(replica, range, start, context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(NativeCommands.WatchResponse(revision, request.Previous), context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (WatchCompactedException ex)
        {
            throw OutcomeStatus.ReadError(ex.Error, ex.Asked);
        }
        catch (WatchStoppedException ex)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, ex.Message));
        }
    }

    public override async Task<HistoryResponse> History(HistoryRequest request, ServerCallContext context)
    {
        Count("history");
        _validate.Key(request.Key);
        _validate.Consistency(request.Consistency);
        await ReadBarrierAsync(request.Consistency, context).ConfigureAwait(false);
        auth.Check(context, KeyAccess.Read, request.Key, default);
        return replica.Read(state =>
        {
            var response = new HistoryResponse { CompactRevision = state.CompactRevision, Revision = state.Revision };
            response.Events.AddRange(state.History(request.Key).Select(e => NativeCommands.Event(e, previous: true)));
            return response;
        });
    }

    public override async Task<CompactResponse> Compact(CompactRequest request, ServerCallContext context)
    {
        Count("compact");
        if (request.Revision <= 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"revision is {request.Revision}; compact to a revision the store has reached (1 or more)."));
        }

        var caller = auth.CheckRoot(context);
        var result = await ProposeAsync(new Command { Compact = new CompactOp { Revision = request.Revision } }, caller, context).ConfigureAwait(false);
        return new CompactResponse { CompactRevision = result.CompactRevision, Revision = result.Revision };
    }

    public override async Task<LeaseGrantResponse> LeaseGrant(LeaseGrantRequest request, ServerCallContext context)
    {
        Count("lease-grant");
        _validate.Ttl(request.TtlSeconds);
        _validate.LeaseId(request.Id, "id");

        // The id is chosen here, not when the command is applied: every replica must agree on it.
        var id = request.Id != 0 ? request.Id : LeaseIds.New();
        var result = await ProposeAsync(new Command { LeaseGrant = new LeaseGrantOp { Id = id, TtlSeconds = request.TtlSeconds } }, context).ConfigureAwait(false);
        return new LeaseGrantResponse { Id = id, TtlSeconds = result.Lease!.TtlSeconds, Revision = result.Revision };
    }

    public override async Task<LeaseRevokeResponse> LeaseRevoke(LeaseRevokeRequest request, ServerCallContext context)
    {
        Count("lease-revoke");
        _validate.LeaseId(request.Id, "id");
        var caller = auth.CheckLeaseRevoke(context, request.Id);
        var result = await ProposeAsync(new Command { LeaseRevoke = new LeaseRevokeOp { Id = request.Id } }, caller, context).ConfigureAwait(false);
        return new LeaseRevokeResponse { Deleted = result.Deleted, Revision = result.Revision };
    }

    public override async Task<LeaseKeepAliveResponse> LeaseKeepAlive(LeaseKeepAliveRequest request, ServerCallContext context)
    {
        Count("lease-keepalive");
        _validate.LeaseId(request.Id, "id");
        var result = await ProposeAsync(new Command { LeaseKeepAlive = new LeaseKeepAliveOp { Id = request.Id } }, context).ConfigureAwait(false);
        return new LeaseKeepAliveResponse { Id = request.Id, TtlSeconds = result.Lease!.TtlSeconds };
    }

    public override async Task<LeaseTimeToLiveResponse> LeaseTimeToLive(LeaseTimeToLiveRequest request, ServerCallContext context)
    {
        Count("lease-ttl");
        _validate.LeaseId(request.Id, "id");
        await ReadBarrierAsync(Consistency.Linearizable, context).ConfigureAwait(false);
        var lease = replica.Read(state => state.FindLease(request.Id))
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"lease {request.Id} does not exist (it expired, was revoked, or was never granted)."));
        return TimeToLive(lease, request.Keys);
    }

    public override async Task<LeaseListResponse> LeaseList(LeaseListRequest request, ServerCallContext context)
    {
        Count("lease-list");
        await ReadBarrierAsync(Consistency.Linearizable, context).ConfigureAwait(false);
        var response = new LeaseListResponse();
        response.Leases.AddRange(replica.Read(state => state.Leases().ToList()).Select(l => TimeToLive(l, keys: false)));
        return response;
    }

    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context)
    {
        var health = replica.Health;
        var response = replica.Inspect(state => new StatusResponse
        {
            NodeId = replica.NodeId,
            AppliedRevision = state.Revision,
            AppliedLogOffset = state.AppliedOffset,
            SkippedLogEntries = state.SkippedEntries,
            KeyCount = state.KeyCount,
            StateHash = request.IncludeStateHash ? state.ComputeStateHash() : string.Empty,
        });
        response.Health = health.Health switch
        {
            ReplicaHealth.Serving => NodeHealth.Serving,
            ReplicaHealth.Degraded => NodeHealth.Degraded,
            ReplicaHealth.Starting => NodeHealth.Starting,
            _ => NodeHealth.NotServing,
        };
        response.HealthDetail = health.Detail;
        response.Version = NodeVersion.Value;
        response.Broker = log.Endpoint;
        response.LastSnapshot = snapshots?.Last;
        response.Peers.AddRange(peers.Describe(replica.LastSeenByOrigin()));
        return Task.FromResult(response);
    }

    private void ValidatePut(PutRequest request)
    {
        _validate.Key(request.Key);
        _validate.Value(request.Value.Length);
        _validate.LeaseId(request.Lease);
        if (request.HasExpectedModRevision)
        {
            _validate.ExpectedModRevision(request.ExpectedModRevision);
        }
    }

    private void ValidateStep(RequestOp op)
    {
        switch (op.RequestCase)
        {
            case RequestOp.RequestOneofCase.Put:
                ValidatePut(op.Put);
                break;
            case RequestOp.RequestOneofCase.Delete:
                _validate.Key(op.Delete.Key);
                break;
            case RequestOp.RequestOneofCase.Get when op.Get.Revision != 0:
            case RequestOp.RequestOneofCase.List when op.List.Revision != 0:
                throw new RpcException(new Status(StatusCode.InvalidArgument, "a read inside a transaction sees the store as the transaction runs: leave its revision 0."));
            case RequestOp.RequestOneofCase.Get:
                _validate.Key(op.Get.Key);
                break;
            case RequestOp.RequestOneofCase.List:
                _validate.Prefix(op.List.Prefix);
                _validate.Limit(op.List.Limit);
                break;
        }
    }

    private async Task<CommandResult> ProposeAsync(Command command, ServerCallContext context) => await ProposeAsync(command, null, context).ConfigureAwait(false);

    private async Task<CommandResult> ProposeAsync(Command command, AuthCaller? caller, ServerCallContext context) =>
        OutcomeStatus.Check(await replica.ProposeAsync(AuthCaller.Checked(command, caller), context.CancellationToken).ConfigureAwait(false));

    private async Task ReadBarrierAsync(Consistency consistency, ServerCallContext context)
    {
        if (consistency == Consistency.Serializable)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        await replica.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
        NodeDiagnostics.BarrierWait.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>Reads the state at <paramref name="revision"/>, or fails with OUT_OF_RANGE when it is compacted or in the future.</summary>
    private T ReadAt<T>(long revision, Func<IStateView, T> read) =>
        replica.Read(state => state.CheckRevision(revision) is { } error ? throw OutcomeStatus.ReadError(error, revision) : read(state));

    private static long ReadRevision(IStateView state, long revision) => revision > 0 ? revision : state.Revision;

    private LeaseTimeToLiveResponse TimeToLive(LeaseInfo lease, bool keys)
    {
        var now = (replica.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
        var response = new LeaseTimeToLiveResponse
        {
            Id = lease.Id,
            GrantedTtlSeconds = lease.TtlSeconds,
            TtlSeconds = Math.Max(0, (lease.ExpiresAtMicros - now + 999_999) / 1_000_000),
        };
        if (keys)
        {
            response.Keys.AddRange(lease.Keys ?? []);
        }

        return response;
    }

    private static void Count(string method) =>
        NodeDiagnostics.Operations.Add(1, new KeyValuePair<string, object?>("rpc.method", method));

    private static string Quote(string key) => key.Length <= 80 ? $"'{key}'" : $"'{key[..80]}…' ({key.Length} characters)";
}

/// <summary>The node's software version, from its assembly.</summary>
internal static class NodeVersion
{
    public static string Value { get; } =
        typeof(NodeVersion).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
}
