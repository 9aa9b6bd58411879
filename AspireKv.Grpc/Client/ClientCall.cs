using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Http.Headers;
using AspireKv.Grpc.Diagnostics;
using AspireKv.Grpc.Protocol;

namespace AspireKv.Grpc.Client;

/// <summary>
/// One call from the client: sends the request, reads the response headers, the messages and the
/// status. Every failure, from the transport, the deadline or the server, ends as an <see cref="RpcException"/>.
/// </summary>
internal sealed class ClientCall<TRequest, TResponse> : IClientCall<TResponse>
{
    private const string UserAgent = "aspirekv-grpc-dotnet/1.0";

    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly TRequest _request;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenSource? _deadline;
    private readonly TaskCompletionSource<Metadata> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HttpResponseMessage? _response;
    private PipeReader? _reader;
    private Task? _start;
    private Activity? _activity;
    private Status? _status;
    private Metadata? _trailers;
    private int _disposed;

    public ClientCall(GrpcChannel channel, Method<TRequest, TResponse> method, TRequest request, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _request = request;
        _options = options;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
        if (Timeout is { } timeout && timeout > TimeSpan.Zero)
        {
            _deadline = new CancellationTokenSource(timeout);
            _deadline.Token.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _cts);
        }
    }

    public Task<Metadata> ResponseHeadersAsync => _headers.Task;

    public Status GetStatus() => _status ?? throw new InvalidOperationException("The call has not finished yet.");

    public Metadata GetTrailers() => _trailers ?? throw new InvalidOperationException("The call has not finished yet.");

    private TimeSpan? Timeout => _options.Deadline is { } deadline && deadline != DateTime.MaxValue
        ? deadline.ToUniversalTime() - DateTime.UtcNow
        : null;

    public async Task<TResponse> RunUnaryAsync()
    {
        try
        {
            await StartAsync().ConfigureAwait(false);
            if (_status is null)
            {
                var (hasMessage, message) = await ReadMessageAsync().ConfigureAwait(false);
                var another = hasMessage && (await ReadMessageAsync().ConfigureAwait(false)).HasMessage;
                ReadTrailers();
                if (_status!.Value.StatusCode == StatusCode.OK)
                {
                    if (!hasMessage || another)
                    {
                        throw Fail(new Status(StatusCode.Internal, hasMessage
                            ? $"The response to {_method.FullName} has more than one message; a unary call has exactly one."
                            : $"The response to {_method.FullName} has status OK but no message."));
                    }

                    return message;
                }
            }

            throw new RpcException(_status!.Value, _trailers);
        }
        catch (Exception ex)
        {
            throw ToRpcException(ex);
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>Starts a streaming call now, so that its headers arrive before the first read.</summary>
    public void Start() => _start = Guard(StartAsync());

    public async IAsyncEnumerable<TResponse> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _cts);
        try
        {
            await (_start ?? Guard(StartAsync())).ConfigureAwait(false);
            while (_status is null)
            {
                var (hasMessage, message) = await Guard(ReadMessageAsync().AsTask()).ConfigureAwait(false);
                if (!hasMessage)
                {
                    ReadTrailers();
                    break;
                }

                yield return message;
            }

            if (_status!.Value.StatusCode != StatusCode.OK)
            {
                throw new RpcException(_status.Value, _trailers);
            }
        }
        finally
        {
            Dispose();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_status is null)
        {
            // Abandoned before the end: cancel, so HttpClient resets the stream and the server hears of it.
            _status = new Status(StatusCode.Cancelled, "The call was disposed before it finished.");
            _trailers ??= [];
            _cts.Cancel();
        }

        _headers.TrySetException(new RpcException(_status.Value, _trailers));
        _reader?.Complete();
        _response?.Dispose();
        _deadline?.Dispose();
        _cts.Dispose();
        GrpcDiagnostics.Stop(_activity, _status.Value);
    }

    private async Task<T> Guard<T>(Task<T> task)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw ToRpcException(ex);
        }
    }

    private async Task Guard(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var rpc = ToRpcException(ex);
            _headers.TrySetException(rpc);
            throw rpc;
        }
    }

    private async Task StartAsync()
    {
        _activity = GrpcDiagnostics.StartCall(ActivityKind.Client, _method.ServiceName, _method.Name);
        GrpcDiagnostics.SetServer(_activity, _channel.Address.Host, _channel.Address.Port);

        var timeout = Timeout;
        if (timeout is { } t && t <= TimeSpan.Zero)
        {
            throw Fail(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded: the deadline had passed before the call started."));
        }

        using var request = BuildRequest(timeout);
        _response = await _channel.Invoker.SendAsync(request, _cts.Token).ConfigureAwait(false);

        var response = _response;
        if (response.StatusCode != System.Net.HttpStatusCode.OK)
        {
            var detail = $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}.";
            if (response.Headers.TryGetValues(GrpcProtocol.MessageHeader, out var messages))
            {
                detail += " " + PercentEncoding.Decode(messages.First());
            }

            throw Fail(new Status(GrpcProtocol.FromHttpStatus((int)response.StatusCode), detail));
        }

        var contentType = response.Content.Headers.ContentType?.ToString();
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            throw Fail(new Status(StatusCode.Internal, $"Bad gRPC response. Content-Type '{contentType}' is not a gRPC content type."));
        }

        _headers.TrySetResult(ToMetadata(response.Headers));
        if (response.Headers.Contains(GrpcProtocol.StatusHeader))
        {
            // Trailers-Only: the status came with the headers and there is no body.
            (_status, _trailers) = ReadStatus(response.Headers);
        }
    }

    private HttpRequestMessage BuildRequest(TimeSpan? timeout)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        MessageFraming.Write(output, _method.RequestMarshaller, _request, _channel.Options.MaxSendMessageSize, "request");
        var content = new ReadOnlyMemoryContent(output.WrittenMemory);
        content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);

        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_channel.Address, _method.FullName.TrimStart('/')))
        {
            // HttpClient's default request version only applies to its convenience methods; a
            // message that does not ask for HTTP/2 itself is sent as HTTP/1.1.
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        request.Headers.TryAddWithoutValidation("user-agent", UserAgent);
        request.Headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.SupportedEncodings);
        if (timeout is { } t)
        {
            request.Headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(t));
        }

        foreach (var entry in _options.Headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(entry.Key, Metadata.ToWireValue(entry));
        }

        return request;
    }

    private async ValueTask<(bool HasMessage, TResponse Message)> ReadMessageAsync()
    {
        if (_reader is null)
        {
            var stream = await _response!.Content.ReadAsStreamAsync(_cts.Token).ConfigureAwait(false);
            _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: false));
        }

        var encoding = _response!.Headers.TryGetValues(GrpcProtocol.EncodingHeader, out var values) ? values.FirstOrDefault() : null;
        return await MessageFraming.ReadAsync(_reader, _method.ResponseMarshaller, _channel.Options.MaxReceiveMessageSize, encoding, "response", _cts.Token)
            .ConfigureAwait(false);
    }

    private void ReadTrailers()
    {
        var trailers = _response!.TrailingHeaders;
        if (!trailers.Contains(GrpcProtocol.StatusHeader))
        {
            throw Fail(new Status(StatusCode.Internal, "Bad gRPC response. The response ended without a grpc-status."));
        }

        (_status, _trailers) = ReadStatus(trailers);
    }

    private static (Status, Metadata) ReadStatus(HttpHeaders headers)
    {
        var code = headers.GetValues(GrpcProtocol.StatusHeader).First();
        var detail = headers.TryGetValues(GrpcProtocol.MessageHeader, out var messages) ? PercentEncoding.Decode(messages.First()) : string.Empty;
        var status = int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? new Status((StatusCode)value, detail)
            : new Status(StatusCode.Unknown, $"Bad gRPC response. grpc-status '{code}' is not a number. {detail}".TrimEnd());
        return (status, ToMetadata(headers));
    }

    private static Metadata ToMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var (name, values) in headers.NonValidated)
        {
            if (GrpcProtocol.IsReservedHeader(name))
            {
                continue;
            }

            foreach (var value in values)
            {
                metadata.AddFromWire(name, value);
            }
        }

        return metadata;
    }

    private RpcException Fail(Status status)
    {
        _status = status;
        _trailers ??= [];
        return new RpcException(status, _trailers);
    }

    private RpcException ToRpcException(Exception ex)
    {
        if (ex is RpcException rpc)
        {
            _status ??= rpc.Status;
            _trailers ??= rpc.Trailers;
            return rpc;
        }

        var status = ex switch
        {
            OperationCanceledException when _deadline?.IsCancellationRequested == true =>
                new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"),
            OperationCanceledException => new Status(StatusCode.Cancelled, "The call was cancelled by the client."),
            _ when FindProtocolError(ex) is { } http2 => FromHttp2Error(http2),
            HttpRequestException => new Status(StatusCode.Unavailable, $"Error connecting to {_channel.Address}: {ex.Message}{Inner(ex)}"),
            IOException => new Status(StatusCode.Unavailable, $"The connection to {_channel.Address} was lost: {ex.Message}"),
            _ => new Status(StatusCode.Internal, $"The call to {_method.FullName} failed: {ex.GetType().Name}: {ex.Message}"),
        };
        _status = status;
        _trailers ??= [];
        return new RpcException(status, _trailers, ex);
    }

    private static string Inner(Exception ex) =>
        ex.InnerException is { } inner && !ex.Message.Contains(inner.Message, StringComparison.Ordinal) ? $" ({inner.Message})" : string.Empty;

    private static HttpProtocolException? FindProtocolError(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is HttpProtocolException protocol)
            {
                return protocol;
            }
        }

        return null;
    }

    /// <summary>RST_STREAM and GOAWAY codes, mapped as the protocol's "Errors" section says.</summary>
    private static Status FromHttp2Error(HttpProtocolException ex) => ex.ErrorCode switch
    {
        0x8 => new Status(StatusCode.Cancelled, "The server cancelled the call."),
        0x7 => new Status(StatusCode.Unavailable, "The server refused the stream; it was not processed."),
        0xB => new Status(StatusCode.ResourceExhausted, "The server asked the client to calm down (ENHANCE_YOUR_CALM)."),
        0xC => new Status(StatusCode.PermissionDenied, "The connection is not secure enough for the server (INADEQUATE_SECURITY)."),
        _ => new Status(StatusCode.Internal, $"The server ended the stream with HTTP/2 error 0x{ex.ErrorCode:X}: {ex.Message}"),
    };
}
