using Microsoft.AspNetCore.Http;

namespace AspireKv.Grpc.Server;

/// <summary>What a service method knows about the call it is serving.</summary>
public sealed class ServerCallContext
{
    private readonly Func<Metadata, Task> _writeResponseHeaders;

    internal ServerCallContext(
        HttpContext httpContext, string method, DateTime deadline, Metadata requestHeaders, CancellationToken cancellationToken, Func<Metadata, Task> writeResponseHeaders)
    {
        HttpContext = httpContext;
        Method = method;
        Deadline = deadline;
        RequestHeaders = requestHeaders;
        CancellationToken = cancellationToken;
        _writeResponseHeaders = writeResponseHeaders;
    }

    /// <summary>The full method name: <c>/package.Service/Method</c>.</summary>
    public string Method { get; }

    /// <summary>The caller's address, as <c>ipv4:1.2.3.4:5678</c> or <c>ipv6:[::1]:5678</c>.</summary>
    public string Peer => HttpContext.Connection.RemoteIpAddress switch
    {
        null => "unknown",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } ip => $"ipv6:[{ip}]:{HttpContext.Connection.RemotePort}",
        var ip => $"ipv4:{ip}:{HttpContext.Connection.RemotePort}",
    };

    /// <summary>When the caller stops waiting, in UTC; <see cref="DateTime.MaxValue"/> without a deadline.</summary>
    public DateTime Deadline { get; }

    public Metadata RequestHeaders { get; }

    /// <summary>Cancelled when the caller cancels, the deadline passes or the connection drops.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Sent in the trailers with the status, whatever the outcome.</summary>
    public Metadata ResponseTrailers { get; } = [];

    public HttpContext HttpContext { get; }

    /// <summary>Sends custom response headers now, before the first message.</summary>
    public Task WriteResponseHeadersAsync(Metadata headers) => _writeResponseHeaders(headers);
}

/// <summary>Writes the messages of a server-streaming call.</summary>
public interface IServerStreamWriter<in T>
{
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
