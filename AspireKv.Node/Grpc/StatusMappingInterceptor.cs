using AspireKv.Client;
using AspireKv.Node.Replication;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace AspireKv.Node.Grpc;

/// <summary>
/// Turns what the replica throws into gRPC statuses, in one place for every method:
/// <see cref="ReplicaUnavailableException"/> becomes UNAVAILABLE with its reason (and the
/// <c>aspirekv-refused</c> trailer when the node refused before doing anything), and a call the
/// client cancelled or let expire becomes CANCELLED or DEADLINE_EXCEEDED. Those two are the
/// client's doing, not the node's, so they are logged at Debug and without a stack trace. A
/// declared call that nothing implements says so in its UNIMPLEMENTED message.
/// </summary>
public sealed class StatusMappingInterceptor(ILogger<StatusMappingInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (Fail(ex, context) is { } status)
        {
            throw status;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (Fail(ex, context) is { } status)
        {
            throw status;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (Fail(ex, context) is { } status)
        {
            throw status;
        }
    }

    /// <summary>
    /// The status for what a handler threw (see <see cref="Map"/>), with the call's span marked by
    /// whichever status goes out: the mapped one, or the handler's own <see cref="RpcException"/>.
    /// Runs as an exception filter, while the handler's span is still the current one.
    /// </summary>
    private RpcException? Fail(Exception exception, ServerCallContext context)
    {
        var mapped = Map(exception, context);
        if ((mapped ?? exception as RpcException) is { } outgoing)
        {
            MarkSpan(outgoing.Status);
        }

        return mapped;
    }

    /// <summary>
    /// Marks the call's server span failed, with the status message, for the codes OpenTelemetry's
    /// gRPC conventions count as the server's failure (not the caller's, such as NOT_FOUND).
    /// </summary>
    private static void MarkSpan(Status status)
    {
        if (status.StatusCode is StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Unimplemented or StatusCode.Internal or StatusCode.Unavailable or StatusCode.DataLoss
            && System.Diagnostics.Activity.Current is { IsAllDataRequested: true } span)
        {
            span.SetTag("rpc.grpc.status_code", (int)status.StatusCode);
            span.SetStatus(System.Diagnostics.ActivityStatusCode.Error, $"{status.StatusCode}: {status.Detail}");
        }
    }

    /// <summary>The status for an exception a handler threw; null leaves it to grpc-dotnet (an unexpected error: UNKNOWN, logged as an error).</summary>
    private RpcException? Map(Exception exception, ServerCallContext context)
    {
        switch (exception)
        {
            case ReplicaUnavailableException { Refused: true } refused:
                return new RpcException(new Status(StatusCode.Unavailable, refused.Message), new Metadata { { KvMetadata.RefusedTrailer, "true" } });
            case ReplicaUnavailableException unavailable:
                return new RpcException(new Status(StatusCode.Unavailable, unavailable.Message));
            case OperationCanceledException or IOException when context.CancellationToken.IsCancellationRequested:
                var expired = context.Deadline <= DateTime.UtcNow;
                logger.LogDebug("{Method} ended early: the client {Reason}.", context.Method, expired ? "let its deadline pass" : "cancelled the call or went away");
                return new RpcException(expired
                    ? new Status(StatusCode.DeadlineExceeded, $"the deadline passed before the node could finish {context.Method}")
                    : new Status(StatusCode.Cancelled, $"the client cancelled {context.Method}"));
            case RpcException { StatusCode: StatusCode.Unimplemented } unimplemented when string.IsNullOrEmpty(unimplemented.Status.Detail):
                // A declared call nothing implements (etcd's Auth, member changes, ...): say so, rather than grpc-dotnet's empty message.
                return new RpcException(new Status(StatusCode.Unimplemented, context.Method.StartsWith("/etcdserverpb.", StringComparison.Ordinal)
                    ? $"AspireKv's etcd API does not support {context.Method}; docs/etcd-compatibility.md lists what it supports."
                    : $"AspireKv does not implement {context.Method}."));
            default:
                return null;
        }
    }
}
