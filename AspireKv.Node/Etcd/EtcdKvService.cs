using System.Diagnostics;
using AspireKv.Node.Auth;
using AspireKv.Node.Commands;
using AspireKv.Node.Diagnostics;
using AspireKv.Node.Grpc;
using AspireKv.Node.Replication;
using AspireKv.Node.StateMachine;
using Grpc.Core;
using Microsoft.Extensions.Options;
using EtcdKv = AspireKv.Etcd.KV;

namespace AspireKv.Node.Etcd;

/// <summary>
/// etcd's <c>etcdserverpb.KV</c> service over the node's own state machine: Range, Put,
/// DeleteRange, Txn and Compact propose and read exactly what the native API does, so a write
/// through either is seen through the other at the same revision.
/// </summary>
public sealed class EtcdKvService(Replica replica, EtcdIdentity identity, IOptions<KeyValueLimits> limits, AuthGate auth) : EtcdKv.KVBase
{
    private readonly RequestValidator _validate = new(limits.Value);

    public override async Task<AspireKv.Etcd.RangeResponse> Range(AspireKv.Etcd.RangeRequest request, ServerCallContext context)
    {
        Count("etcd-range");
        var op = EtcdCommands.Range(request);
        ValidateKey(op.Key);
        if (request.Revision < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"revision is {request.Revision}; 0 reads the newest revision."));
        }

        if (!request.Serializable)
        {
            var started = Stopwatch.GetTimestamp();
            await replica.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
            NodeDiagnostics.BarrierWait.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        // After the barrier, as etcd checks a linearizable read: against every auth change acknowledged before the call.
        auth.Check(context, KeyAccess.Read, op.Key, op.RangeEnd.Span);

        return replica.Read(state =>
        {
            if (state.CheckRevision(request.Revision) is { } error)
            {
                throw EtcdErrors.From(error.Outcome)!;
            }

            var page = state.Range(KeyRange.FromEtcd(op.Key, op.RangeEnd.Span), null, op.Limit, long.MaxValue, request.KeysOnly || request.CountOnly, request.Revision, countAll: true);
            var response = EtcdCommands.RangeResponse(request, page.Records, page.More, page.Count);
            response.Header = identity.Header(request.Revision > 0 ? request.Revision : state.Revision);
            return response;
        });
    }

    public override async Task<AspireKv.Etcd.PutResponse> Put(AspireKv.Etcd.PutRequest request, ServerCallContext context)
    {
        Count("etcd-put");
        var op = EtcdCommands.Put(request);
        ValidatePut(op);
        var caller = auth.Check(context, AuthCaller.Writing(request.PrevKv), op.Key, default);
        var result = await ProposeAsync(new Command { Put = op }, caller, context).ConfigureAwait(false);
        return new AspireKv.Etcd.PutResponse
        {
            Header = identity.Header(result.Revision),
            PrevKv = request.PrevKv && result.Previous is { } previous ? EtcdCommands.KeyValue(previous) : null,
        };
    }

    public override async Task<AspireKv.Etcd.DeleteRangeResponse> DeleteRange(AspireKv.Etcd.DeleteRangeRequest request, ServerCallContext context)
    {
        Count("etcd-delete");
        var op = EtcdCommands.Delete(request);
        ValidateKey(op.Key);
        var caller = auth.Check(context, AuthCaller.Writing(request.PrevKv), op.Key, op.RangeEnd.Span);
        var result = await ProposeAsync(new Command { Delete = op }, caller, context).ConfigureAwait(false);
        var response = EtcdCommands.DeleteResponse(result.Deleted, request.PrevKv ? result.DeletedRecords : null);
        response.Header = identity.Header(result.Revision);
        return response;
    }

    public override async Task<AspireKv.Etcd.TxnResponse> Txn(AspireKv.Etcd.TxnRequest request, ServerCallContext context)
    {
        Count("etcd-txn");
        var op = EtcdCommands.Txn(request);
        ValidateTxn(op);
        var caller = auth.CheckTxn(context, op);
        var result = await ProposeAsync(new Command { Txn = op }, caller, context).ConfigureAwait(false);
        var response = new AspireKv.Etcd.TxnResponse { Header = identity.Header(result.Revision), Succeeded = result.Txn!.Succeeded };
        response.Responses.AddRange(EtcdCommands.TxnResponses(request, result.Txn, () => identity.Header(result.Revision)));
        return response;
    }

    public override async Task<AspireKv.Etcd.CompactionResponse> Compact(AspireKv.Etcd.CompactionRequest request, ServerCallContext context)
    {
        Count("etcd-compact");
        if (request.Revision <= 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"revision is {request.Revision}; compact to a revision the store has reached (1 or more)."));
        }

        var caller = auth.CheckRoot(context);
        var result = await ProposeAsync(new Command { Compact = new CompactOp { Revision = request.Revision } }, caller, context).ConfigureAwait(false);
        return new AspireKv.Etcd.CompactionResponse { Header = identity.Header(result.Revision) };
    }

    private void ValidateKey(string key)
    {
        if (key.Length == 0)
        {
            throw EtcdErrors.EmptyKey;
        }

        _validate.Key(key);
    }

    private void ValidatePut(PutOp put)
    {
        ValidateKey(put.Key);
        _validate.Value(put.Value.Length);
        _validate.LeaseId(put.Lease);
        if (put.IgnoreValue && !put.Value.IsEmpty)
        {
            throw EtcdErrors.ValueProvided;
        }

        if (put.IgnoreLease && put.Lease != 0)
        {
            throw EtcdErrors.LeaseProvided;
        }
    }

    /// <summary>etcd's limits on a transaction: at most 128 operations per part, and no key written twice in a branch.</summary>
    private void ValidateTxn(TxnOp txn)
    {
        if (txn.Compares.Count > RequestValidator.MaxTxnOperations || txn.Success.Count > RequestValidator.MaxTxnOperations || txn.Failure.Count > RequestValidator.MaxTxnOperations)
        {
            throw EtcdErrors.TooManyOperations;
        }

        foreach (var compare in txn.Compares)
        {
            ValidateKey(compare.Key);
        }

        foreach (var branch in new[] { txn.Success, txn.Failure })
        {
            var written = new List<KeyRange>();
            foreach (var step in branch)
            {
                switch (step.OpCase)
                {
                    case TxnStep.OpOneofCase.Put:
                        ValidatePut(step.Put);
                        Written(written, KeyRange.Single(step.Put.Key));
                        break;
                    case TxnStep.OpOneofCase.Delete:
                        ValidateKey(step.Delete.Key);
                        Written(written, KeyRange.FromEtcd(step.Delete.Key, step.Delete.RangeEnd.Span));
                        break;
                    case TxnStep.OpOneofCase.Range:
                        ValidateKey(step.Range.Key);
                        break;
                }
            }
        }
    }

    private static void Written(List<KeyRange> written, KeyRange range)
    {
        if (written.Any(w => w.Overlaps(range)))
        {
            throw EtcdErrors.DuplicateKey;
        }

        written.Add(range);
    }

    private async Task<CommandResult> ProposeAsync(Command command, AuthCaller? caller, ServerCallContext context)
    {
        var result = await replica.ProposeAsync(AuthCaller.Checked(command, caller), context.CancellationToken).ConfigureAwait(false);
        return EtcdErrors.From(result.Outcome) is { } error ? throw error : OutcomeStatus.Check(result);
    }

    private static void Count(string method) =>
        NodeDiagnostics.Operations.Add(1, new KeyValuePair<string, object?>("rpc.method", method));
}
