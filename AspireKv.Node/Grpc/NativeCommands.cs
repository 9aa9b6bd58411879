using AspireKv.Node.Commands;
using AspireKv.Node.StateMachine;
using AspireKv.V1;
using Google.Protobuf;
using Grpc.Core;

namespace AspireKv.Node.Grpc;

/// <summary>Turns the native API's requests into log commands, and the state machine's results back into responses.</summary>
public static class NativeCommands
{
    public static PutOp Put(PutRequest request)
    {
        var put = new PutOp { Key = request.Key, Value = request.Value, ReturnPrevious = request.ReturnPrevious, Lease = request.Lease };
        if (request.HasExpectedModRevision)
        {
            put.ExpectedModRevision = request.ExpectedModRevision;
        }

        return put;
    }

    public static DeleteOp Delete(DeleteRequest request) =>
        new() { Key = request.Key, Prefix = request.Prefix, ReturnPrevious = request.ReturnPrevious };

    public static PutResponse PutResponse(long revision, KeyRecord? previous) =>
        new() { Revision = revision, Previous = previous?.ToEntry() };

    public static DeleteResponse DeleteResponse(CommandResult result)
    {
        var response = new DeleteResponse { Deleted = result.Deleted, Revision = result.Revision };
        response.Previous.AddRange(result.DeletedRecords?.Select(r => r.ToEntry()) ?? []);
        return response;
    }

    /// <summary>A transaction as a log command: compares and both branches, each step as the state machine knows it.</summary>
    public static TxnOp Txn(TxnRequest request)
    {
        var txn = new TxnOp();
        txn.Compares.AddRange(request.Compares.Select(Compare));
        txn.Success.AddRange(request.Success.Select(Step));
        txn.Failure.AddRange(request.Failure.Select(Step));
        return txn;
    }

    public static TxnResponse TxnResponse(TxnRequest request, CommandResult result)
    {
        var outcome = result.Txn!;
        var branch = outcome.Succeeded ? request.Success : request.Failure;
        var response = new TxnResponse { Succeeded = outcome.Succeeded, Revision = result.Revision };
        for (var i = 0; i < branch.Count; i++)
        {
            var step = outcome.Steps[i];
            response.Responses.Add(branch[i].RequestCase switch
            {
                RequestOp.RequestOneofCase.Put => new ResponseOp { Put = PutResponse(step.Revision, step.Previous) },
                RequestOp.RequestOneofCase.Delete => new ResponseOp { Delete = DeleteStepResponse(step) },
                RequestOp.RequestOneofCase.Get => new ResponseOp { Get = GetResponse(step.Records is [var found, ..] ? found : null, step.Revision) },
                _ => new ResponseOp { List = ListResponse(step.Records ?? [], step.More, step.Revision, branch[i].List.KeysOnly) },
            });
        }

        return response;
    }

    public static GetResponse GetResponse(KeyRecord? record, long revision) =>
        new() { Found = record is not null, Entry = record?.ToEntry(), Revision = revision };

    public static ListResponse ListResponse(IReadOnlyList<KeyRecord> records, bool more, long revision, bool keysOnly)
    {
        var response = new ListResponse { Revision = revision };
        response.Entries.AddRange(records.Select(r => r.ToEntry(keysOnly)));
        if (more && records.Count > 0)
        {
            response.Continuation = ListContinuation.Create(records[^1].Key);
        }

        return response;
    }

    public static Event Event(KvEvent change, bool previous) => new()
    {
        Type = change.Type == EventType.Put ? V1.Event.Types.Type.Put : V1.Event.Types.Type.Delete,
        Entry = change.Record.ToEntry(),
        Previous = previous ? change.Previous?.ToEntry() : null,
    };

    public static WatchResponse WatchResponse(RevisionEvents revision, bool previous)
    {
        var response = new WatchResponse { Revision = revision.Revision };
        response.Events.AddRange(revision.Events.Select(e => Event(e, previous)));
        return response;
    }

    private static DeleteResponse DeleteStepResponse(TxnStepResult step)
    {
        var response = new DeleteResponse { Deleted = step.Count, Revision = step.Revision };
        response.Previous.AddRange(step.Records?.Select(r => r.ToEntry()) ?? []);
        return response;
    }

    private static CompareOp Compare(Compare compare)
    {
        var op = new CompareOp
        {
            Result = (CompareOp.Types.Result)(int)compare.Result,
            Key = compare.Key,
            RangeEnd = compare.Prefix ? ByteString.CopyFrom(KeyRange.Prefix(compare.Key).End) : ByteString.Empty,
        };
        switch (compare.TargetCase)
        {
            case V1.Compare.TargetOneofCase.Value:
                op.Value = compare.Value;
                break;
            case V1.Compare.TargetOneofCase.Version:
                op.Version = compare.Version;
                break;
            case V1.Compare.TargetOneofCase.CreateRevision:
                op.CreateRevision = compare.CreateRevision;
                break;
            case V1.Compare.TargetOneofCase.ModRevision:
                op.ModRevision = compare.ModRevision;
                break;
            case V1.Compare.TargetOneofCase.Lease:
                op.Lease = compare.Lease;
                break;
        }

        return op;
    }

    private static TxnStep Step(RequestOp op) => op.RequestCase switch
    {
        RequestOp.RequestOneofCase.Put => new TxnStep { Put = Put(op.Put) },
        RequestOp.RequestOneofCase.Delete => new TxnStep { Delete = Delete(op.Delete) },
        RequestOp.RequestOneofCase.Get => new TxnStep { Range = new RangeOp { Key = op.Get.Key, Limit = 1 } },
        _ => new TxnStep { Range = ListRange(op.List) },
    };

    private static RangeOp ListRange(ListRequest list)
    {
        if (list.Continuation.Length > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "a List inside a transaction reads one page: leave continuation empty, and page with List outside the transaction."));
        }

        return new RangeOp { Key = list.Prefix, RangeEnd = ByteString.CopyFrom(KeyRange.Prefix(list.Prefix).End is { Length: > 0 } end ? end : [0]), Limit = list.Limit, KeysOnly = list.KeysOnly };
    }
}
