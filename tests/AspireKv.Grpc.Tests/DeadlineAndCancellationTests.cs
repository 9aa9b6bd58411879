using AspireKv.Grpc.Client;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace AspireKv.Grpc.Tests;

public sealed class DeadlineAndCancellationTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>
{
    [Fact]
    public async Task Call_past_its_deadline_is_deadline_exceeded_and_the_handler_is_cancelled()
    {
        var tag = Guid.NewGuid().ToString();

        // Long enough for the handler to have started even on a busy machine.
        var ex = await Assert.ThrowsAsync<RpcException>(() => server.Channel.AsyncUnaryCall(
            EchoService.Echo, new StringValue { Value = "wait:" + tag }, CallOptions.WithTimeout(TimeSpan.FromSeconds(3))).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.True(server.Service.Signal(server.Service.Started, tag).Task.IsCompleted, "the handler never started");
        await server.Service.Signal(server.Service.Cancelled, tag).Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Server_enforces_grpc_timeout_without_help_from_the_client()
    {
        using var http = RawHttp2.CreateClient();
        var request = RawHttp2.Request(server.Address, "test.v1.Echo/Echo", RawHttp2.Frame(new StringValue { Value = "wait:" + Guid.NewGuid() }.ToByteArray()));
        request.Headers.TryAddWithoutValidation("grpc-timeout", "200m");

        using var response = await http.SendAsync(request);
        var (status, _, _) = await RawHttp2.ReadStatusAsync(response);

        Assert.Equal((int)StatusCode.DeadlineExceeded, status);
    }

    [Fact]
    public async Task Deadline_reaches_the_handler()
    {
        var response = await server.Channel.AsyncUnaryCall(
            EchoService.Echo, new StringValue { Value = "deadline" }, CallOptions.WithTimeout(TimeSpan.FromSeconds(100)));

        Assert.InRange(int.Parse(response.Value, System.Globalization.CultureInfo.InvariantCulture), 90, 100);
    }

    [Fact]
    public async Task Deadline_already_passed_fails_without_a_call()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => server.Channel.AsyncUnaryCall(
            EchoService.Echo, new StringValue { Value = "x" }, new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(-1))).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
    }

    [Fact]
    public async Task Client_cancellation_cancels_the_call_on_the_server()
    {
        var tag = Guid.NewGuid().ToString();
        using var cts = new CancellationTokenSource();
        var call = server.Channel.AsyncUnaryCall(EchoService.Echo, new StringValue { Value = "wait:" + tag }, new CallOptions(CancellationToken: cts.Token));
        await server.Service.Signal(server.Service.Started, tag).Task.WaitAsync(TimeSpan.FromSeconds(30));

        await cts.CancelAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        await server.Service.Signal(server.Service.Cancelled, tag).Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Server_cancellation_reaches_the_client_as_cancelled()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            server.Channel.AsyncUnaryCall(EchoService.Echo, new StringValue { Value = "reset" }).ResponseAsync);

        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
    }
}
