using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using AspireKv.Grpc.Client;
using AspireKv.Grpc.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace AspireKv.Grpc.Tests;

public sealed class UnaryCallTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>
{
    private Task<StringValue> Echo(string text, CallOptions options = default) =>
        server.Channel.AsyncUnaryCall(EchoService.Echo, new StringValue { Value = text }, options).ResponseAsync;

    [Fact]
    public async Task Unary_call_returns_the_response_over_h2c()
    {
        var call = server.Channel.AsyncUnaryCall(EchoService.Echo, new StringValue { Value = "hello" });

        var response = await call;

        Assert.Equal("hello", response.Value);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Handler_error_reaches_the_client_with_code_and_percent_encoded_message()
    {
        var detail = "nöt fóund: 100% gone\tfor good";

        var ex = await Assert.ThrowsAsync<RpcException>(() => Echo($"fail:5:{detail}"));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal(detail, ex.Status.Detail);
    }

    [Fact]
    public async Task Handler_exception_is_unknown_and_the_server_stays_up()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Echo("throw"));

        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.Equal("still here", (await Echo("still here")).Value);
    }

    [Fact]
    public async Task Early_error_is_a_trailers_only_response()
    {
        using var http = RawHttp2.CreateClient();
        var body = RawHttp2.Frame(new StringValue { Value = "fail:7:no" }.ToByteArray());

        using var response = await http.SendAsync(RawHttp2.Request(server.Address, "test.v1.Echo/Echo", body));
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("7", response.Headers.GetValues("grpc-status").Single());
        Assert.Equal("no", response.Headers.GetValues("grpc-message").Single());
        Assert.Empty(bytes);
        Assert.False(response.TrailingHeaders.Contains("grpc-status"));
    }

    [Fact]
    public async Task Successful_call_sends_its_status_in_trailers()
    {
        using var http = RawHttp2.CreateClient();
        var body = RawHttp2.Frame(new StringValue { Value = "x" }.ToByteArray());

        using var response = await http.SendAsync(RawHttp2.Request(server.Address, "test.v1.Echo/Echo", body));
        var (status, _, bytes) = await RawHttp2.ReadStatusAsync(response);

        Assert.Equal(0, status);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType!.MediaType);
        Assert.False(response.Headers.Contains("grpc-status"));
        Assert.Equal(RawHttp2.Frame(new StringValue { Value = "x" }.ToByteArray()), bytes);
    }

    [Fact]
    public async Task Unknown_method_of_a_known_service_is_unimplemented()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            server.Channel.AsyncUnaryCall(EchoService.Missing, new StringValue()).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
        Assert.Contains("'Missing'", ex.Status.Detail);
        Assert.Contains("test.v1.Echo", ex.Status.Detail);
    }

    [Fact]
    public async Task Unknown_service_is_unimplemented()
    {
        var method = new Method<StringValue, StringValue>(
            MethodType.Unary, "test.v1.Nobody", "Echo", Marshallers.Protobuf(StringValue.Parser), Marshallers.Protobuf(StringValue.Parser));

        var ex = await Assert.ThrowsAsync<RpcException>(() => server.Channel.AsyncUnaryCall(method, new StringValue()).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
        Assert.Contains("Service 'test.v1.Nobody'", ex.Status.Detail);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json")]
    [InlineData("application/grpc+json")]
    public async Task Content_type_that_is_not_grpc_gets_415(string contentType)
    {
        using var http = RawHttp2.CreateClient();
        var body = RawHttp2.Frame(new StringValue { Value = "x" }.ToByteArray());

        using var response = await http.SendAsync(RawHttp2.Request(server.Address, "test.v1.Echo/Echo", body, contentType));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains(contentType, Uri.UnescapeDataString(response.Headers.GetValues("grpc-message").Single()));
    }

    [Fact]
    public async Task Grpc_proto_content_type_is_accepted()
    {
        using var http = RawHttp2.CreateClient();
        var body = RawHttp2.Frame(new StringValue { Value = "x" }.ToByteArray());

        using var response = await http.SendAsync(RawHttp2.Request(server.Address, "test.v1.Echo/Echo", body, "application/grpc+proto"));

        Assert.Equal(0, (await RawHttp2.ReadStatusAsync(response)).Status);
    }

    [Fact]
    public async Task Http11_request_is_told_to_use_http2()
    {
        using var http = RawHttp2.CreateClient();
        var body = RawHttp2.Frame(new StringValue { Value = "x" }.ToByteArray());

        using var response = await http.SendAsync(RawHttp2.Request(server.Http1Address, "test.v1.Echo/Echo", body, version: HttpVersion.Version11));

        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Contains("HTTP/2", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Request_over_the_receive_limit_is_resource_exhausted()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Echo(new string('x', 4 * 1024 * 1024 + 1)));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("4194304", ex.Status.Detail);
        Assert.Equal("ok", (await Echo("ok")).Value);
    }

    [Fact]
    public async Task Response_over_the_client_receive_limit_is_resource_exhausted()
    {
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1000 });

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            channel.AsyncUnaryCall(EchoService.Echo, new StringValue { Value = "big:5000" }).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Request_over_the_client_send_limit_is_refused_before_sending()
    {
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxSendMessageSize = 100 });

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            channel.AsyncUnaryCall(EchoService.Echo, new StringValue { Value = new string('x', 200) }).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    public static TheoryData<string, byte[], int> MalformedBodies => new()
    {
        { "truncated frame", RawHttp2.Frame([1, 2, 3], declaredLength: 100), 13 },
        { "truncated header", [0, 0, 0], 13 },
        { "payload that is not protobuf", RawHttp2.Frame([0xFF, 0xFF, 0xFF, 0xFF]), 13 },
        { "no message at all", [], 13 },
        { "two messages for a unary call", [.. RawHttp2.Frame(new StringValue { Value = "a" }.ToByteArray()), .. RawHttp2.Frame(new StringValue { Value = "b" }.ToByteArray())], 13 },
        { "compressed flag without grpc-encoding", RawHttp2.Frame(new StringValue { Value = "a" }.ToByteArray(), flag: 1), 13 },
        { "unknown flag", RawHttp2.Frame(new StringValue { Value = "a" }.ToByteArray(), flag: 7), 13 },
        { "declared length over the limit", RawHttp2.Frame([1], declaredLength: 100_000_000), 8 },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Malformed_request_gets_a_clean_grpc_error_and_the_server_stays_up(string what, byte[] body, int expectedStatus)
    {
        using var http = RawHttp2.CreateClient();

        using var response = await http.SendAsync(RawHttp2.Request(server.Address, "test.v1.Echo/Echo", body));
        var (status, message, _) = await RawHttp2.ReadStatusAsync(response);

        Assert.True(expectedStatus == status, $"{what}: expected grpc-status {expectedStatus}, got {status} ({message})");
        Assert.False(string.IsNullOrEmpty(message), $"{what}: the error has no message");
        Assert.Equal("alive", (await Echo("alive")).Value);
    }

    [Fact]
    public async Task Gzip_compressed_request_is_accepted()
    {
        using var http = RawHttp2.CreateClient();
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(new StringValue { Value = "squeezed" }.ToByteArray());
        }

        var request = RawHttp2.Request(server.Address, "test.v1.Echo/Echo", RawHttp2.Frame(compressed.ToArray(), flag: 1));
        request.Headers.Add("grpc-encoding", "gzip");

        using var response = await http.SendAsync(request);
        var (status, _, body) = await RawHttp2.ReadStatusAsync(response);

        Assert.Equal(0, status);
        Assert.Equal("squeezed", StringValue.Parser.ParseFrom(body.AsSpan(5)).Value);
    }

    [Fact]
    public async Task Compressed_request_in_an_unsupported_encoding_is_unimplemented()
    {
        using var http = RawHttp2.CreateClient();
        var request = RawHttp2.Request(server.Address, "test.v1.Echo/Echo", RawHttp2.Frame([1, 2, 3], flag: 1));
        request.Headers.Add("grpc-encoding", "snappy");

        using var response = await http.SendAsync(request);
        var (status, message, _) = await RawHttp2.ReadStatusAsync(response);

        Assert.Equal((int)StatusCode.Unimplemented, status);
        Assert.Contains("snappy", message);
    }

    [Fact]
    public async Task Malformed_grpc_timeout_is_a_clean_error()
    {
        using var http = RawHttp2.CreateClient();
        var request = RawHttp2.Request(server.Address, "test.v1.Echo/Echo", RawHttp2.Frame(new StringValue { Value = "x" }.ToByteArray()));
        request.Headers.TryAddWithoutValidation("grpc-timeout", "soon");

        using var response = await http.SendAsync(request);
        var (status, message, _) = await RawHttp2.ReadStatusAsync(response);

        Assert.Equal((int)StatusCode.Internal, status);
        Assert.Contains("grpc-timeout", Uri.UnescapeDataString(message!));
    }

    [Fact]
    public async Task Custom_metadata_travels_in_headers_and_trailers_both_ways()
    {
        var headers = new Metadata { { "x-echo", "ping" }, { "x-data-bin", new byte[] { 1, 2, 3, 250 } } };
        var call = server.Channel.AsyncUnaryCall(EchoService.Echo, new StringValue { Value = "meta" }, new CallOptions(headers));

        await call;
        var responseHeaders = await call.ResponseHeadersAsync;

        Assert.Equal("ping", responseHeaders.GetValue("x-echo"));
        Assert.Equal("t-ping", call.GetTrailers().GetValue("x-trailer"));
        Assert.Equal(new byte[] { 250, 3, 2, 1 }, call.GetTrailers().GetValueBytes("x-data-bin"));
    }

    [Fact]
    public async Task Every_call_gets_an_activity_with_rpc_attributes()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == GrpcDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (stopped)
                {
                    stopped.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await Assert.ThrowsAsync<RpcException>(() => Echo("fail:9:traced"));

        Activity[] spans;
        lock (stopped)
        {
            spans = [.. stopped.Where(a => a.GetTagItem("rpc.grpc.status_code") is 9)];
        }

        var client = Assert.Single(spans, a => a.Kind == ActivityKind.Client);
        var serverSpan = Assert.Single(spans, a => a.Kind == ActivityKind.Server && a.TraceId == client.TraceId);
        foreach (var span in new[] { client, serverSpan })
        {
            Assert.Equal("test.v1.Echo/Echo", span.DisplayName);
            Assert.Equal("grpc", span.GetTagItem("rpc.system"));
            Assert.Equal("test.v1.Echo", span.GetTagItem("rpc.service"));
            Assert.Equal("Echo", span.GetTagItem("rpc.method"));
        }
    }

    [Fact]
    public async Task Connection_refused_is_unavailable()
    {
        using var channel = GrpcChannel.ForAddress("127.0.0.1:1");

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(EchoService.Echo, new StringValue()).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }
}
