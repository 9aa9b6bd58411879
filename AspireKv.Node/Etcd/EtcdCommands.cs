using System.Text;
using AspireKv.Node.Commands;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using Grpc.Core;
using Mvcc = AspireKv.Etcd.Mvcc;

namespace AspireKv.Node.Etcd;

/// <summary>
/// Turns etcd's requests into the same log commands the native API proposes, and the state
/// machine's results into etcd's responses: one store, one revision counter, two wire contracts.
/// </summary>
public static class EtcdCommands
{
    private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

    /// <summary>An etcd key as AspireKv keeps it: UTF-8 text. Other bytes are refused with a message that says so.</summary>
    public static string Key(ByteString key, string field = "key")
    {
        try
        {
            return Strict.GetString(key.Span);
        }
        catch (DecoderFallbackException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} is not UTF-8; AspireKv keys are UTF-8 text (values may be any bytes)."));
        }
    }

    public static Mvcc.KeyValue KeyValue(KeyRecord record, bool keysOnly = false) => new()
    {
        Key = ByteString.CopyFromUtf8(record.Key),
        Value = keysOnly ? ByteString.Empty : record.Value,
        CreateRevision = record.CreateRevision,
        ModRevision = record.ModRevision,
        Version = record.Version,
        Lease = record.Lease,
    };

    public static PutOp Put(AspireKv.Etcd.PutRequest request) => new()
    {
        Key = Key(request.Key),
        Value = request.Value,
        Lease = request.Lease,
        ReturnPrevious = request.PrevKv,
        IgnoreValue = request.IgnoreValue,
        IgnoreLease = request.IgnoreLease,
    };

    public static DeleteOp Delete(AspireKv.Etcd.DeleteRangeRequest request) => new()
    {
        Key = Key(request.Key),
        RangeEnd = request.RangeEnd,
        ReturnPrevious = request.PrevKv,
    };

    public static TxnOp Txn(AspireKv.Etcd.TxnRequest request)
    {
        var txn = new TxnOp();
        txn.Compares.AddRange(request.Compare.Select(Compare));
        txn.Success.AddRange(request.Success.Select(Step));
        txn.Failure.AddRange(request.Failure.Select(Step));
        return txn;
    }

    /// <summary>A range read that the state machine can answer in one page; sorting and filters are applied after it, as etcd does.</summary>
    public static RangeOp Range(AspireKv.Etcd.RangeRequest request) => new()
    {
        Key = Key(request.Key),
        RangeEnd = request.RangeEnd,
        Limit = NeedsEveryKey(request) ? 0 : request.Limit,
        KeysOnly = request.KeysOnly,
        CountOnly = request.CountOnly,
    };

    /// <summary>Sorting other than by key ascending, and the revision filters, need every key of the range before the limit applies.</summary>
    public static bool NeedsEveryKey(AspireKv.Etcd.RangeRequest request) =>
        request.MinModRevision > 0 || request.MaxModRevision > 0 || request.MinCreateRevision > 0 || request.MaxCreateRevision > 0 ||
        request.SortOrder == AspireKv.Etcd.RangeRequest.Types.SortOrder.Descend ||
        (request.SortOrder == AspireKv.Etcd.RangeRequest.Types.SortOrder.Ascend && request.SortTarget != AspireKv.Etcd.RangeRequest.Types.SortTarget.Key);

    /// <summary>etcd's Range answer from the records of the range (in key order): filtered, sorted and limited as the request asks.</summary>
    public static AspireKv.Etcd.RangeResponse RangeResponse(AspireKv.Etcd.RangeRequest request, IReadOnlyList<KeyRecord> records, bool more, long count)
    {
        var response = new AspireKv.Etcd.RangeResponse { Count = count, More = more };
        if (request.CountOnly)
        {
            return response;
        }

        IEnumerable<KeyRecord> selected = records;
        if (NeedsEveryKey(request))
        {
            selected = records.Where(r =>
                (request.MinModRevision <= 0 || r.ModRevision >= request.MinModRevision) &&
                (request.MaxModRevision <= 0 || r.ModRevision <= request.MaxModRevision) &&
                (request.MinCreateRevision <= 0 || r.CreateRevision >= request.MinCreateRevision) &&
                (request.MaxCreateRevision <= 0 || r.CreateRevision <= request.MaxCreateRevision));
            selected = Sort(selected, request.SortTarget, request.SortOrder).ToList();
            var all = (List<KeyRecord>)selected;
            response.More = request.Limit > 0 && all.Count > request.Limit;
            selected = request.Limit > 0 ? all.Take((int)Math.Min(request.Limit, int.MaxValue)) : all;
        }

        response.Kvs.AddRange(selected.Select(r => KeyValue(r, request.KeysOnly)));
        return response;
    }

    public static AspireKv.Etcd.DeleteRangeResponse DeleteResponse(long deleted, IReadOnlyList<KeyRecord>? previous)
    {
        var response = new AspireKv.Etcd.DeleteRangeResponse { Deleted = deleted };
        response.PrevKvs.AddRange(previous?.Select(r => KeyValue(r)) ?? []);
        return response;
    }

    /// <summary>The responses of the branch that ran, in etcd's shapes; each carries the header the caller fills in.</summary>
    public static IEnumerable<AspireKv.Etcd.ResponseOp> TxnResponses(AspireKv.Etcd.TxnRequest request, TxnOutcome outcome, Func<AspireKv.Etcd.ResponseHeader> header)
    {
        var branch = outcome.Succeeded ? request.Success : request.Failure;
        for (var i = 0; i < branch.Count; i++)
        {
            var step = outcome.Steps[i];
            yield return branch[i].RequestCase switch
            {
                AspireKv.Etcd.RequestOp.RequestOneofCase.RequestPut => new AspireKv.Etcd.ResponseOp
                {
                    ResponsePut = new AspireKv.Etcd.PutResponse { Header = header(), PrevKv = step.Previous is { } previous ? KeyValue(previous) : null },
                },
                AspireKv.Etcd.RequestOp.RequestOneofCase.RequestDeleteRange => new AspireKv.Etcd.ResponseOp
                {
                    ResponseDeleteRange = WithHeader(DeleteResponse(step.Count, branch[i].RequestDeleteRange.PrevKv ? step.Records : null), header()),
                },
                _ => new AspireKv.Etcd.ResponseOp
                {
                    ResponseRange = WithHeader(RangeResponse(branch[i].RequestRange, step.Records ?? [], step.More, step.Count), header()),
                },
            };
        }
    }

    private static AspireKv.Etcd.DeleteRangeResponse WithHeader(AspireKv.Etcd.DeleteRangeResponse response, AspireKv.Etcd.ResponseHeader header)
    {
        response.Header = header;
        return response;
    }

    private static AspireKv.Etcd.RangeResponse WithHeader(AspireKv.Etcd.RangeResponse response, AspireKv.Etcd.ResponseHeader header)
    {
        response.Header = header;
        return response;
    }

    private static IEnumerable<KeyRecord> Sort(IEnumerable<KeyRecord> records, AspireKv.Etcd.RangeRequest.Types.SortTarget target, AspireKv.Etcd.RangeRequest.Types.SortOrder order)
    {
        if (order == AspireKv.Etcd.RangeRequest.Types.SortOrder.None)
        {
            return records; // key order already
        }

        var sorted = target switch
        {
            AspireKv.Etcd.RangeRequest.Types.SortTarget.Version => records.OrderBy(r => r.Version).ThenBy(r => r.Key, Utf8KeyComparer.Instance),
            AspireKv.Etcd.RangeRequest.Types.SortTarget.Create => records.OrderBy(r => r.CreateRevision).ThenBy(r => r.Key, Utf8KeyComparer.Instance),
            AspireKv.Etcd.RangeRequest.Types.SortTarget.Mod => records.OrderBy(r => r.ModRevision).ThenBy(r => r.Key, Utf8KeyComparer.Instance),
            AspireKv.Etcd.RangeRequest.Types.SortTarget.Value => records.OrderBy(r => r.Value.ToByteArray(), ByteOrder.Instance).ThenBy(r => r.Key, Utf8KeyComparer.Instance),
            _ => records.OrderBy(r => r.Key, Utf8KeyComparer.Instance),
        };
        return order == AspireKv.Etcd.RangeRequest.Types.SortOrder.Descend ? sorted.Reverse() : sorted;
    }

    private static CompareOp Compare(AspireKv.Etcd.Compare compare)
    {
        var op = new CompareOp { Result = (CompareOp.Types.Result)(int)compare.Result, Key = Key(compare.Key), RangeEnd = compare.RangeEnd };
        switch (compare.Target)
        {
            case AspireKv.Etcd.Compare.Types.CompareTarget.Version:
                op.Version = compare.Version;
                break;
            case AspireKv.Etcd.Compare.Types.CompareTarget.Create:
                op.CreateRevision = compare.CreateRevision;
                break;
            case AspireKv.Etcd.Compare.Types.CompareTarget.Mod:
                op.ModRevision = compare.ModRevision;
                break;
            case AspireKv.Etcd.Compare.Types.CompareTarget.Value:
                op.Value = compare.Value;
                break;
            default:
                op.Lease = compare.Lease;
                break;
        }

        return op;
    }

    private static TxnStep Step(AspireKv.Etcd.RequestOp op) => op.RequestCase switch
    {
        AspireKv.Etcd.RequestOp.RequestOneofCase.RequestPut => new TxnStep { Put = Put(op.RequestPut) },
        AspireKv.Etcd.RequestOp.RequestOneofCase.RequestDeleteRange => new TxnStep { Delete = Delete(op.RequestDeleteRange) },
        AspireKv.Etcd.RequestOp.RequestOneofCase.RequestRange when op.RequestRange.Revision == 0 => new TxnStep { Range = Range(op.RequestRange) },
        AspireKv.Etcd.RequestOp.RequestOneofCase.RequestRange => throw EtcdErrors.Unimplemented("a Range at a past revision inside a Txn"),
        AspireKv.Etcd.RequestOp.RequestOneofCase.RequestTxn => throw EtcdErrors.Unimplemented("nested transactions (request_txn)"),
        _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "a RequestOp in a Txn has no request set.")),
    };

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static ByteOrder Instance { get; } = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
