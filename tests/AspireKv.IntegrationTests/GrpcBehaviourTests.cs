using System.Net;
using System.Net.Http.Headers;
using AspireKv.Client;
using Grpc.Core;

namespace AspireKv.IntegrationTests;

/// <summary>
/// What any gRPC client sees of a node's transport, on a real node process over real HTTP/2:
/// status codes for bad calls, the message size limit, and a node that stays up after them.
/// </summary>
public sealed class GrpcBehaviourTests(SingleNodeFixture fixture) : IClassFixture<SingleNodeFixture>
{
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    private Uri Address => fixture.Node.Spec.GrpcAddress;

    [Fact]
    public async Task Unknown_method_is_unimplemented()
    {
        using var channel = KvClient.CreateChannel(Address);
        var method = new Method<byte[], byte[]>(MethodType.Unary, "aspirekv.v1.KeyValue", "Nope", Raw, Raw);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), []).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    [Fact]
    public async Task Request_that_is_not_a_protobuf_message_is_an_error_and_the_node_stays_up()
    {
        using var channel = KvClient.CreateChannel(Address);
        var put = new Method<byte[], byte[]>(MethodType.Unary, "aspirekv.v1.KeyValue", "Put", Raw, Raw);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().AsyncUnaryCall(put, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]).ResponseAsync);

        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.Contains("InvalidProtocolBufferException", ex.Status.Detail);
        using var client = new KvClient(Address.ToString());
        Assert.True((await client.PutAsync("behaviour/after-garbage", "fine")).Revision > 0);
    }

    [Fact]
    public async Task Message_over_the_size_limit_is_resource_exhausted()
    {
        using var client = new KvClient(Address.ToString());
        var value = new byte[5 * 1024 * 1024];

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync("behaviour/huge", value));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Value_over_its_limit_is_invalid_argument_with_the_limit_in_the_message()
    {
        using var client = new KvClient(Address.ToString());

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync("behaviour/big", new byte[(1024 * 1024) + 1]));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("1048576", ex.Status.Detail);
    }

    [Fact]
    public async Task Wrong_content_type_gets_http_415()
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Address, "/aspirekv.v1.KeyValue/Get"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent("""{"key":"a"}"""),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Deadline_that_has_passed_is_deadline_exceeded()
    {
        using var client = new KvClient(Address.ToString());

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.GetAsync("behaviour/any", timeout: TimeSpan.FromTicks(1)));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
    }

    [Fact]
    public async Task Reflection_lets_a_client_without_the_proto_call_put_and_get()
    {
        var seen = await NodeInterop.RunAsync("reflection.js", $"127.0.0.1:{fixture.Node.Spec.GrpcPort}");

        var services = seen.GetProperty("services").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Contains("aspirekv.v1.KeyValue", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Contains("Put", seen.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.True(seen.GetProperty("found").GetBoolean());
        Assert.Equal("found by reflection", seen.GetProperty("value").GetString());
        Assert.Equal(seen.GetProperty("putRevision").GetString(), seen.GetProperty("modRevision").GetString());
        Assert.Equal("INVALID_ARGUMENT", seen.GetProperty("invalid").GetProperty("code").GetString());
        Assert.Contains("key is empty", seen.GetProperty("invalid").GetProperty("details").GetString());
    }
}
