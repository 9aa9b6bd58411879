using System.Diagnostics;
using AspireKv.Grpc.Diagnostics;
using AspireKv.Grpc.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace AspireKv.Grpc.Server;

/// <summary>
/// One call on the server: protocol checks, the deadline, reading the request, writing responses
/// and finishing with a status. A call writes nothing after it has completed, so a handler that
/// outlives its deadline cannot touch a finished response.
/// </summary>
internal sealed class ServerCall<TRequest, TResponse> : IServerStreamWriter<TResponse>
{
    private readonly HttpContext _http;
    private readonly Method<TRequest, TResponse> _method;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _completed;

    public ServerCall(HttpContext http, Method<TRequest, TResponse> method, GrpcServerOptions options, ILogger logger)
    {
        _http = http;
        _method = method;
        _options = options;
        _logger = logger;
    }

    /// <summary>Serves the call: <paramref name="body"/> reads the request and writes the response(s).</summary>
    public async Task RunAsync(Func<ServerCall<TRequest, TResponse>, ServerCallContext, Task> body)
    {
        if (await RejectBadRequestAsync().ConfigureAwait(false))
        {
            return;
        }

        using var activity = StartActivity();
        var status = Status.Ok;
        ServerCallContext? context = null;
        TimeSpan? timeout;
        try
        {
            timeout = ParseTimeout();
        }
        catch (RpcException ex)
        {
            await CompleteAsync(ex.Status, null).ConfigureAwait(false);
            GrpcDiagnostics.Stop(activity, ex.Status);
            return;
        }

        var deadline = timeout is { } t ? new CancellationTokenSource(t) : null;
        var linked = CancellationTokenSource.CreateLinkedTokenSource(_http.RequestAborted, deadline?.Token ?? CancellationToken.None);
        var deadlineUtc = timeout is { } span ? DateTime.UtcNow + span : DateTime.MaxValue;
        context = new ServerCallContext(_http, _method.FullName, deadlineUtc, ReadRequestHeaders(), linked.Token, WriteResponseHeadersAsync);

        var work = body(this, context);
        try
        {
            await (deadline is null ? work : work.WaitAsync(deadline.Token)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            status = ToStatus(ex, deadline, context);
        }

        if (work.IsCompleted)
        {
            linked.Dispose();
            deadline?.Dispose();
        }
        else
        {
            // The handler outlived its deadline. Cancel its token here rather than rely on the order
            // in which the deadline's callbacks run, and keep the sources alive until it ends.
            await linked.CancelAsync().ConfigureAwait(false);
            _ = work.ContinueWith(
                t =>
                {
                    _ = t.Exception;
                    linked.Dispose();
                    deadline?.Dispose();
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }

        await CompleteAsync(status, context?.ResponseTrailers).ConfigureAwait(false);
        GrpcDiagnostics.Stop(activity, status);
    }

    /// <summary>Reads the single request message of a unary or server-streaming call.</summary>
    public async Task<TRequest> ReadSingleRequestAsync(CancellationToken cancellationToken)
    {
        var reader = _http.Request.BodyReader;
        var encoding = _http.Request.Headers[GrpcProtocol.EncodingHeader].ToString();
        var (hasMessage, request) = await MessageFraming.ReadAsync(
            reader, _method.RequestMarshaller, _options.MaxReceiveMessageSize, encoding, "request", cancellationToken).ConfigureAwait(false);
        if (!hasMessage)
        {
            throw new RpcException(StatusCode.Internal, $"The request to {_method.FullName} has no message; this method takes exactly one.");
        }

        var (another, _) = await MessageFraming.ReadAsync(
            reader, _method.RequestMarshaller, _options.MaxReceiveMessageSize, encoding, "request", cancellationToken).ConfigureAwait(false);
        if (another)
        {
            throw new RpcException(StatusCode.Internal, $"The request to {_method.FullName} has more than one message; this method takes exactly one.");
        }

        return request;
    }

    public async Task WriteAsync(TResponse message, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                throw new InvalidOperationException($"The call to {_method.FullName} is complete; no more messages can be written.");
            }

            PrepareResponseHeaders();
            MessageFraming.Write(_http.Response.BodyWriter, _method.ResponseMarshaller, message, _options.MaxSendMessageSize, "response");
            await _http.Response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task WriteResponseHeadersAsync(Metadata headers)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_completed || _http.Response.HasStarted)
            {
                throw new InvalidOperationException("Response headers can be written only once, before the first message.");
            }

            PrepareResponseHeaders();
            foreach (var entry in headers)
            {
                _http.Response.Headers.Append(entry.Key, Metadata.ToWireValue(entry));
            }

            await _http.Response.StartAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void PrepareResponseHeaders()
    {
        if (!_http.Response.HasStarted)
        {
            _http.Response.StatusCode = StatusCodes.Status200OK;
            _http.Response.ContentType = GrpcProtocol.ContentType;
            _http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;
        }
    }

    /// <summary>Ends the call with its status: in trailers, or as a Trailers-Only response when nothing was sent yet.</summary>
    private async Task CompleteAsync(Status status, Metadata? trailers)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (_http.RequestAborted.IsCancellationRequested)
            {
                return; // The client is gone; there is no one to tell.
            }

            var response = _http.Response;
            if (!response.HasStarted)
            {
                PrepareResponseHeaders();
                StatusWriter.WriteHeaders(response, status, trailers);
                return;
            }

            StatusWriter.WriteTrailers(response, status, trailers);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException)
        {
            _logger.LogDebug(ex, "Could not send the status of {Method}; the connection went away.", _method.FullName);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Answers requests that are not gRPC over HTTP/2 before any call starts. True when it answered.</summary>
    private async Task<bool> RejectBadRequestAsync()
    {
        var request = _http.Request;
        var response = _http.Response;
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers.Upgrade = "h2c";
            var message = $"gRPC needs HTTP/2, but this request is {request.Protocol}. Use HTTP/2 with prior knowledge (h2c) on the gRPC endpoint.";
            StatusWriter.WriteHeaders(response, new Status(StatusCode.Internal, message));
            await response.WriteAsync(message).ConfigureAwait(false);
            return true;
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            StatusWriter.WriteHeaders(response, new Status(StatusCode.Internal,
                $"Content-Type '{request.ContentType}' is not supported; gRPC calls use 'application/grpc' or 'application/grpc+proto'."));
            return true;
        }

        return false;
    }

    private TimeSpan? ParseTimeout()
    {
        var header = _http.Request.Headers[GrpcProtocol.TimeoutHeader];
        if (StringValues.IsNullOrEmpty(header))
        {
            return null;
        }

        if (!GrpcTimeout.TryParse(header.ToString(), out var timeout))
        {
            throw new RpcException(StatusCode.Internal, $"The grpc-timeout header '{header}' is malformed; it must be 1 to 8 digits followed by one of H, M, S, m, u, n.");
        }

        return timeout;
    }

    private Metadata ReadRequestHeaders()
    {
        var metadata = new Metadata();
        foreach (var (name, values) in _http.Request.Headers)
        {
            if (GrpcProtocol.IsReservedHeader(name))
            {
                continue;
            }

            foreach (var value in values)
            {
                if (value is not null)
                {
                    metadata.AddFromWire(name, value);
                }
            }
        }

        return metadata;
    }

    private Activity? StartActivity()
    {
        // ASP.NET Core's own request activity is the parent when it exists; otherwise the caller's traceparent.
        var parent = default(ActivityContext);
        if (Activity.Current is null
            && ActivityContext.TryParse(_http.Request.Headers.TraceParent, _http.Request.Headers.TraceState, out var remote))
        {
            parent = remote;
        }

        var activity = GrpcDiagnostics.StartCall(ActivityKind.Server, _method.ServiceName, _method.Name, parent);
        GrpcDiagnostics.SetServer(activity, _http.Request.Host.Host, _http.Request.Host.Port);
        return activity;
    }

    private Status ToStatus(Exception ex, CancellationTokenSource? deadline, ServerCallContext context)
    {
        switch (ex)
        {
            case RpcException rpc:
                foreach (var entry in rpc.Trailers)
                {
                    context.ResponseTrailers.AddEntry(entry);
                }

                return rpc.Status;
            case OperationCanceledException when deadline?.IsCancellationRequested == true:
                return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
            case OperationCanceledException or IOException when _http.RequestAborted.IsCancellationRequested:
                return new Status(StatusCode.Cancelled, "The call was cancelled by the client.");
            default:
                _logger.LogError(ex, "The handler of {Method} threw.", _method.FullName);
                return new Status(StatusCode.Unknown, "Exception was thrown by handler.");
        }
    }
}
