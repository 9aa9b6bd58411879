using System.Diagnostics;

namespace AspireKv.Grpc.Diagnostics;

/// <summary>
/// The runtime's ActivitySource. Every call, client or server, gets an Activity named
/// <c>package.Service/Method</c> with the OpenTelemetry <c>rpc.*</c> attributes.
/// </summary>
public static class GrpcDiagnostics
{
    public const string ActivitySourceName = "AspireKv.Grpc";

    public static ActivitySource ActivitySource { get; } = new(ActivitySourceName, typeof(GrpcDiagnostics).Assembly.GetName().Version?.ToString());

    internal static Activity? StartCall(ActivityKind kind, string serviceName, string methodName, ActivityContext parent = default)
    {
        if (!ActivitySource.HasListeners())
        {
            return null;
        }

        var activity = ActivitySource.StartActivity($"{serviceName}/{methodName}", kind, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "grpc");
            activity.SetTag("rpc.service", serviceName);
            activity.SetTag("rpc.method", methodName);
        }

        return activity;
    }

    internal static void SetServer(Activity? activity, string? host, int? port)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("server.address", host);
            if (port is { } p)
            {
                activity.SetTag("server.port", p);
            }
        }
    }

    internal static void Stop(Activity? activity, Status status)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("rpc.grpc.status_code", (int)status.StatusCode);
        if (IsError(activity.Kind, status.StatusCode))
        {
            activity.SetStatus(ActivityStatusCode.Error, status.Detail);
        }

        activity.Dispose();
    }

    // The semantic conventions count every non-OK status as an error on the client, but on the
    // server only those that point at the server itself.
    private static bool IsError(ActivityKind kind, StatusCode code) =>
        code != StatusCode.OK
        && (kind != ActivityKind.Server || code is StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Unimplemented
            or StatusCode.Internal or StatusCode.Unavailable or StatusCode.DataLoss);
}
