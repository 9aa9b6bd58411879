using System.Collections.Concurrent;
using System.Globalization;
using AspireKv.Grpc.Server;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Http.Features;

namespace AspireKv.Grpc.Tests;

/// <summary>A test service whose behaviour the request text picks, to drive every path of the runtime.</summary>
public sealed class EchoService
{
    public const string ServiceName = "test.v1.Echo";

    public static Method<StringValue, StringValue> Echo { get; } =
        new(MethodType.Unary, ServiceName, "Echo", Marshallers.Protobuf(StringValue.Parser), Marshallers.Protobuf(StringValue.Parser));

    public static Method<Int32Value, StringValue> Count { get; } =
        new(MethodType.ServerStreaming, ServiceName, "Count", Marshallers.Protobuf(Int32Value.Parser), Marshallers.Protobuf(StringValue.Parser));

    /// <summary>A method the server never maps, to call an unimplemented method of a known service.</summary>
    public static Method<StringValue, StringValue> Missing { get; } =
        new(MethodType.Unary, ServiceName, "Missing", Marshallers.Protobuf(StringValue.Parser), Marshallers.Protobuf(StringValue.Parser));

    /// <summary>Signals, by the tag a test put in its request, that a handler started or saw its cancellation.</summary>
    public ConcurrentDictionary<string, TaskCompletionSource> Started { get; } = new();

    public ConcurrentDictionary<string, TaskCompletionSource> Cancelled { get; } = new();

    public TaskCompletionSource Signal(ConcurrentDictionary<string, TaskCompletionSource> signals, string tag) =>
        signals.GetOrAdd(tag, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public async Task<StringValue> HandleEcho(StringValue request, ServerCallContext context)
    {
        var text = request.Value;
        var (verb, argument) = text.IndexOf(':') is var i and >= 0 ? (text[..i], text[(i + 1)..]) : (text, string.Empty);
        switch (verb)
        {
            case "fail":
                var parts = argument.Split(':', 2);
                throw new RpcException((StatusCode)int.Parse(parts[0], CultureInfo.InvariantCulture), parts.Length > 1 ? parts[1] : string.Empty);
            case "throw":
                throw new InvalidOperationException("a bug in the handler");
            case "wait":
                Signal(Started, argument).TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Signal(Cancelled, argument).TrySetResult();
                    throw;
                }

                return request;
            case "reset":
                // The server cancels the call: RST_STREAM with CANCEL (0x8).
                context.HttpContext.Features.Get<IHttpResetFeature>()!.Reset(0x8);
                return request;
            case "big":
                return new StringValue { Value = new string('x', int.Parse(argument, CultureInfo.InvariantCulture)) };
            case "meta":
                var headers = new Metadata { { "x-echo", context.RequestHeaders.GetValue("x-echo") ?? "none" } };
                await context.WriteResponseHeadersAsync(headers);
                context.ResponseTrailers.Add("x-trailer", "t-" + (context.RequestHeaders.GetValue("x-echo") ?? "none"));
                if (context.RequestHeaders.GetValueBytes("x-data-bin") is { } data)
                {
                    context.ResponseTrailers.Add("x-data-bin", data.Reverse().ToArray());
                }

                return request;
            case "deadline":
                return new StringValue { Value = context.Deadline == DateTime.MaxValue ? "none" : (context.Deadline - DateTime.UtcNow).TotalSeconds.ToString("F0", CultureInfo.InvariantCulture) };
            default:
                return request;
        }
    }

    public async Task HandleCount(Int32Value request, IServerStreamWriter<StringValue> writer, ServerCallContext context)
    {
        if (request.Value == int.MaxValue)
        {
            await StreamUntilCancelledAsync(writer, context);
            return;
        }

        var n = Math.Abs(request.Value);
        for (var i = 1; i <= n; i++)
        {
            await writer.WriteAsync(new StringValue { Value = i.ToString(CultureInfo.InvariantCulture) }, context.CancellationToken);
        }

        if (request.Value < 0)
        {
            throw new RpcException(StatusCode.Aborted, $"stopped after {n}");
        }

    }

    private async Task StreamUntilCancelledAsync(IServerStreamWriter<StringValue> writer, ServerCallContext context)
    {
        Signal(Started, "stream").TrySetResult();
        try
        {
            for (var i = 1; ; i++)
            {
                await writer.WriteAsync(new StringValue { Value = i.ToString(CultureInfo.InvariantCulture) }, context.CancellationToken);
                await Task.Delay(10, context.CancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            Signal(Cancelled, "stream").TrySetResult();
            throw;
        }
    }
}
