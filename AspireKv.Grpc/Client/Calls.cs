using System.Runtime.CompilerServices;

namespace AspireKv.Grpc.Client;

/// <summary>A unary call in flight. Await it for the response; a failure is an <see cref="RpcException"/>.</summary>
public sealed class AsyncUnaryCall<TResponse>
{
    private readonly IClientCall<TResponse> _state;

    internal AsyncUnaryCall(Task<TResponse> response, IClientCall<TResponse> state)
    {
        ResponseAsync = response;
        _state = state;
    }

    public Task<TResponse> ResponseAsync { get; }

    /// <summary>The response headers, when they arrive.</summary>
    public Task<Metadata> ResponseHeadersAsync => _state.ResponseHeadersAsync;

    /// <summary>The status; only after the call has finished.</summary>
    public Status GetStatus() => _state.GetStatus();

    /// <summary>The trailers; only after the call has finished.</summary>
    public Metadata GetTrailers() => _state.GetTrailers();

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();
}

/// <summary>A server-streaming call in flight. Dispose it to cancel the call.</summary>
public sealed class AsyncServerStreamingCall<TResponse> : IDisposable
{
    private readonly IClientCall<TResponse> _call;

    internal AsyncServerStreamingCall(IClientCall<TResponse> call) => _call = call;

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    /// <summary>The messages, in order. Ends with an <see cref="RpcException"/> when the status is not OK.</summary>
    public IAsyncEnumerable<TResponse> ReadAllAsync(CancellationToken cancellationToken = default) => _call.ReadAllAsync(cancellationToken);

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public void Dispose() => _call.Dispose();
}

/// <summary>What the call wrappers need of a call, whatever its request type.</summary>
internal interface IClientCall<TResponse> : IDisposable
{
    Task<Metadata> ResponseHeadersAsync { get; }

    Status GetStatus();

    Metadata GetTrailers();

    IAsyncEnumerable<TResponse> ReadAllAsync(CancellationToken cancellationToken);
}
