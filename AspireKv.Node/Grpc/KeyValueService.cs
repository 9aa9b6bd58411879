using System.Diagnostics;
using System.Globalization;
using AspireKv.Client;
using AspireKv.Node.Commands;
using AspireKv.Node.Diagnostics;
using AspireKv.Node.Replication;
using AspireKv.Node.StateMachine;
using AspireKv.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AspireKv.Node.Grpc;

/// <summary>
/// The <c>aspirekv.v1.KeyValue</c> service. Each method reads like the protocol: validate, then
/// propose or read, then map the result. Failures of the replica become statuses in one place,
/// <see cref="StatusMappingInterceptor"/>.
/// </summary>
public sealed class KeyValueService(Replica replica, IOptions<KeyValueLimits> limits, PeerDirectory peers) : KeyValue.KeyValueBase
{
    private readonly RequestValidator _validate = new(limits.Value);

    public override async Task<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        Count("put");
        _validate.Key(request.Key);
        _validate.Value(request.Value.Length);
        if (request.HasExpectedModRevision)
        {
            _validate.ExpectedModRevision(request.ExpectedModRevision);
        }

        var put = new PutOp { Key = request.Key, Value = request.Value, ReturnPrevious = request.ReturnPrevious };
        if (request.HasExpectedModRevision)
        {
            put.ExpectedModRevision = request.ExpectedModRevision;
        }

        var result = await replica.ProposeAsync(new Command { Put = put }, context.CancellationToken).ConfigureAwait(false);
        if (result.Outcome == CommandOutcome.PreconditionFailed)
        {
            var trailers = new Metadata { { KvMetadata.CurrentModRevisionTrailer, result.CurrentModRevision.ToString(CultureInfo.InvariantCulture) } };
            var actual = result.CurrentModRevision == 0 ? "does not exist" : $"has mod_revision {result.CurrentModRevision}";
            var expected = request.ExpectedModRevision == 0 ? "expected it not to exist" : $"expected mod_revision {request.ExpectedModRevision}";
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"compare-and-set failed: key {Quote(request.Key)} {actual}, but the request {expected}."), trailers);
        }

        return new PutResponse { Revision = result.Revision, Previous = result.Previous?.ToEntry() };
    }

    public override async Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        Count("get");
        _validate.Key(request.Key);
        _validate.Consistency(request.Consistency);
        await ReadBarrierAsync(request.Consistency, context).ConfigureAwait(false);
        var (record, revision) = replica.Read(state => (state.Get(request.Key), state.Revision));
        return new GetResponse { Found = record is not null, Entry = record?.ToEntry(), Revision = revision };
    }

    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        Count("delete");
        _validate.Key(request.Key);
        var result = await replica.ProposeAsync(new Command { Delete = new DeleteOp { Key = request.Key, Prefix = request.Prefix } }, context.CancellationToken).ConfigureAwait(false);
        return new DeleteResponse { Deleted = result.Deleted, Revision = result.Revision };
    }

    public override async Task<ListResponse> List(ListRequest request, ServerCallContext context)
    {
        Count("list");
        _validate.Prefix(request.Prefix);
        _validate.Limit(request.Limit);
        _validate.Consistency(request.Consistency);
        var startAfter = ListContinuation.Parse(request.Continuation, request.Prefix);
        await ReadBarrierAsync(request.Consistency, context).ConfigureAwait(false);

        var ((entries, more), revision) = replica.Read(state =>
            (state.List(request.Prefix, startAfter, request.Limit, limits.Value.MaxListPageBytes, request.KeysOnly), state.Revision));
        var response = new ListResponse { Revision = revision };
        foreach (var record in entries)
        {
            response.Entries.Add(record.ToEntry(request.KeysOnly));
        }

        if (more)
        {
            response.Continuation = ListContinuation.Create(entries[^1].Key);
        }

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
        response.Peers.AddRange(peers.Describe(replica.LastSeenByOrigin()));
        return Task.FromResult(response);
    }

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
