using AspireKv.Grpc.Client;
using Google.Protobuf.WellKnownTypes;

namespace AspireKv.Grpc.Tests;

public sealed class ServerStreamingTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>
{
    [Fact]
    public async Task Server_stream_delivers_every_message_in_order_then_ok()
    {
        using var call = server.Channel.AsyncServerStreamingCall(EchoService.Count, new Int32Value { Value = 5 });

        var values = new List<string>();
        await foreach (var message in call.ReadAllAsync())
        {
            values.Add(message.Value);
        }

        Assert.Equal(["1", "2", "3", "4", "5"], values);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Server_stream_that_fails_delivers_its_messages_then_the_error()
    {
        using var call = server.Channel.AsyncServerStreamingCall(EchoService.Count, new Int32Value { Value = -3 });

        var values = new List<string>();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var message in call.ReadAllAsync())
            {
                values.Add(message.Value);
            }
        });

        Assert.Equal(["1", "2", "3"], values);
        Assert.Equal(StatusCode.Aborted, ex.StatusCode);
        Assert.Equal("stopped after 3", ex.Status.Detail);
    }

    [Fact]
    public async Task Empty_stream_ends_ok()
    {
        using var call = server.Channel.AsyncServerStreamingCall(EchoService.Count, new Int32Value { Value = 0 });

        var count = 0;
        await foreach (var _ in call.ReadAllAsync())
        {
            count++;
        }

        Assert.Equal(0, count);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Client_cancelling_a_stream_cancels_the_server_handler()
    {
        using var cts = new CancellationTokenSource();
        using var call = server.Channel.AsyncServerStreamingCall(EchoService.Count, new Int32Value { Value = int.MaxValue }, new CallOptions(CancellationToken: cts.Token));

        var received = 0;
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ReadAllAsync())
            {
                if (++received == 3)
                {
                    await cts.CancelAsync();
                }
            }
        });

        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        Assert.True(received >= 3);
        await server.Service.Signal(server.Service.Cancelled, "stream").Task.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
