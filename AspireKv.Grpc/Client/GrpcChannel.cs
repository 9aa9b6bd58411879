using System.Net;

namespace AspireKv.Grpc.Client;

/// <summary>
/// A connection to one gRPC server over cleartext HTTP/2 with prior knowledge (h2c). Cheap to
/// share and safe to use from many threads; calls multiplex over pooled HTTP/2 connections.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        Address = address;
        Options = options;
        var handler = options.HttpHandler ?? CreateDefaultHandler();
        Invoker = new HttpMessageInvoker(handler, disposeHandler: options.HttpHandler is null || options.DisposeHttpHandler);
    }

    public Uri Address { get; }

    public GrpcChannelOptions Options { get; }

    internal HttpMessageInvoker Invoker { get; }

    /// <summary>
    /// A channel to <paramref name="address"/>: <c>http://host:port</c>, or <c>host:port</c>,
    /// which means the same.
    /// </summary>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null) =>
        new(ParseAddress(address), options ?? new GrpcChannelOptions());

    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null) =>
        ForAddress(address.ToString(), options);

    /// <summary>Normalizes an address to <c>http://host:port/</c>; throws with a clear message when it is not one.</summary>
    public static Uri ParseAddress(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        var text = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"'{address}' is not an address; use http://host:port or host:port.", nameof(address));
        }

        if (uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException($"'{address}' uses {uri.Scheme}; this client speaks cleartext HTTP/2 (h2c), so use http://.", nameof(address));
        }

        return new UriBuilder(uri) { Path = "/", Query = string.Empty, Fragment = string.Empty }.Uri;
    }

    public AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
    {
        var call = new ClientCall<TRequest, TResponse>(this, method, request, options);
        return new AsyncUnaryCall<TResponse>(call.RunUnaryAsync(), call);
    }

    public AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
    {
        var call = new ClientCall<TRequest, TResponse>(this, method, request, options);
        call.Start();
        return new AsyncServerStreamingCall<TResponse>(call);
    }

    public void Dispose() => Invoker.Dispose();

    private static SocketsHttpHandler CreateDefaultHandler() => new()
    {
        // Many concurrent calls: open more HTTP/2 connections instead of queueing behind the
        // server's stream limit.
        EnableMultipleHttp2Connections = true,
        UseProxy = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        KeepAlivePingDelay = TimeSpan.FromSeconds(60),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };
}
