using AspireKv.V1;

namespace AspireKv.UnitTests;

public sealed class ContractTests
{
    [Fact]
    public void Linearizable_is_the_default_consistency() => Assert.Equal(Consistency.Linearizable, new GetRequest().Consistency);

    [Fact]
    public void Every_method_of_the_service_is_unary_and_named_as_documented()
    {
        var service = KvReflection.Descriptor.Services.Single(s => s.FullName == "aspirekv.v1.KeyValue");

        Assert.Equal(["Delete", "Get", "List", "Put", "Status"], service.Methods.Select(m => m.Name).Order());
        Assert.All(service.Methods, m => Assert.False(m.IsServerStreaming || m.IsClientStreaming, m.Name));
    }
}
