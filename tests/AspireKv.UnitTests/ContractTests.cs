using AspireKv.V1;

namespace AspireKv.UnitTests;

public sealed class ContractTests
{
    [Fact]
    public void Linearizable_is_the_default_consistency() => Assert.Equal(Consistency.Linearizable, new GetRequest().Consistency);

    [Fact]
    public void Every_method_of_the_service_is_unary_but_watch_which_streams_its_responses()
    {
        var service = KvReflection.Descriptor.Services.Single(s => s.FullName == "aspirekv.v1.KeyValue");

        Assert.Equal(
            ["Compact", "Delete", "Get", "History", "LeaseGrant", "LeaseKeepAlive", "LeaseList", "LeaseRevoke", "LeaseTimeToLive", "List", "Put", "Status", "Txn", "Watch"],
            service.Methods.Select(m => m.Name).Order(StringComparer.Ordinal));
        Assert.All(service.Methods.Where(m => m.Name != "Watch"), m => Assert.False(m.IsServerStreaming || m.IsClientStreaming, m.Name));
        var watch = service.FindMethodByName("Watch");
        Assert.True(watch.IsServerStreaming && !watch.IsClientStreaming);
    }

    [Fact]
    public void Compare_results_number_as_etcds_do() =>
        Assert.Equal([0, 1, 2, 3], new[] { Compare.Types.Result.Equal, Compare.Types.Result.Greater, Compare.Types.Result.Less, Compare.Types.Result.NotEqual }.Select(r => (int)r));
}
