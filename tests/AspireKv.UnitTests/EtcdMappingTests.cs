using AspireKv.Node.Etcd;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using Grpc.Core;
using EtcdApi = AspireKv.Etcd;

namespace AspireKv.UnitTests;

/// <summary>The etcd layer's mapping onto the state machine's commands and results.</summary>
public sealed class EtcdMappingTests
{
    private static readonly KeyRecord[] Records =
    [
        new("a", ByteString.CopyFromUtf8("3"), CreateRevision: 5, ModRevision: 9, Version: 2),
        new("b", ByteString.CopyFromUtf8("1"), CreateRevision: 2, ModRevision: 2, Version: 1),
        new("c", ByteString.CopyFromUtf8("2"), CreateRevision: 7, ModRevision: 7, Version: 1),
    ];

    [Fact]
    public void Keys_that_are_not_utf8_are_refused_with_invalid_argument()
    {
        var error = Assert.Throws<RpcException>(() => EtcdCommands.Key(ByteString.CopyFrom(0xC3, 0x28)));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("UTF-8", error.Status.Detail);
    }

    [Fact]
    public void Nested_transactions_are_unimplemented_not_ignored()
    {
        var request = new EtcdApi.TxnRequest { Success = { new EtcdApi.RequestOp { RequestTxn = new EtcdApi.TxnRequest() } } };
        var error = Assert.Throws<RpcException>(() => EtcdCommands.Txn(request));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        Assert.Contains("nested transactions", error.Status.Detail);
    }

    [Fact]
    public void Range_sorts_filters_and_limits_as_etcd_does()
    {
        var byValueDescending = new EtcdApi.RangeRequest
        {
            SortOrder = EtcdApi.RangeRequest.Types.SortOrder.Descend,
            SortTarget = EtcdApi.RangeRequest.Types.SortTarget.Value,
            Limit = 2,
        };
        var sorted = EtcdCommands.RangeResponse(byValueDescending, Records, more: false, count: 3);
        Assert.Equal(["a", "c"], sorted.Kvs.Select(k => k.Key.ToStringUtf8()));
        Assert.True(sorted.More);
        Assert.Equal(3, sorted.Count);

        var recent = EtcdCommands.RangeResponse(new EtcdApi.RangeRequest { MinModRevision = 7, KeysOnly = true }, Records, more: false, count: 3);
        Assert.Equal(["a", "c"], recent.Kvs.Select(k => k.Key.ToStringUtf8()));
        Assert.All(recent.Kvs, k => Assert.True(k.Value.IsEmpty));

        var counted = EtcdCommands.RangeResponse(new EtcdApi.RangeRequest { CountOnly = true }, [], more: false, count: 3);
        Assert.Empty(counted.Kvs);
        Assert.Equal(3, counted.Count);
    }

    [Fact]
    public void Ranges_that_need_every_key_read_without_a_limit()
    {
        Assert.Equal(10, EtcdCommands.Range(new EtcdApi.RangeRequest { Key = ByteString.CopyFromUtf8("k"), Limit = 10 }).Limit);
        Assert.Equal(0, EtcdCommands.Range(new EtcdApi.RangeRequest { Key = ByteString.CopyFromUtf8("k"), Limit = 10, MaxCreateRevision = 4 }).Limit);
    }
}
