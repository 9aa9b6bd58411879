using AspireKv.Client;
using AspireKv.Grpc;
using AspireKv.V1;

namespace AspireKv.UnitTests;

public sealed class ContractTests
{
    public static TheoryData<string, object> Methods => new()
    {
        { "Put", KeyValueMethods.Put },
        { "Get", KeyValueMethods.Get },
        { "Delete", KeyValueMethods.Delete },
        { "List", KeyValueMethods.List },
        { "Status", KeyValueMethods.Status },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Method_table_matches_the_proto(string name, object method)
    {
        var service = KvReflection.Descriptor.Services.Single(s => s.FullName == "aspirekv.v1.KeyValue");
        var descriptor = service.FindMethodByName(name);
        var type = method.GetType();
        var request = type.GetGenericArguments()[0];
        var response = type.GetGenericArguments()[1];

        Assert.Equal($"/{service.FullName}/{descriptor.Name}", type.GetProperty(nameof(Method<int, int>.FullName))!.GetValue(method));
        Assert.Equal(descriptor.InputType.ClrType, request);
        Assert.Equal(descriptor.OutputType.ClrType, response);
        Assert.False(descriptor.IsServerStreaming || descriptor.IsClientStreaming);
    }

    [Fact]
    public void Every_proto_method_is_in_the_method_table()
    {
        var service = KvReflection.Descriptor.Services.Single(s => s.FullName == "aspirekv.v1.KeyValue");

        Assert.Equal(service.Methods.Select(m => m.Name).Order(), Methods.Select(row => (string)row[0]).Order());
    }

    [Fact]
    public void Linearizable_is_the_default_consistency() => Assert.Equal(Consistency.Linearizable, new GetRequest().Consistency);
}
