using System.Globalization;
using AspireKv.Grpc.Protocol;
using Microsoft.AspNetCore.Http;

namespace AspireKv.Grpc.Server;

/// <summary>Writes a call's status: <c>grpc-status</c>, <c>grpc-message</c> and the trailing metadata, as trailers or as headers.</summary>
internal static class StatusWriter
{
    /// <summary>Puts the status into the trailers, after the messages.</summary>
    public static void WriteTrailers(HttpResponse response, Status status, Metadata? trailers) =>
        Write(response, status, trailers, static (r, name, value) => r.AppendTrailer(name, value));

    /// <summary>Puts the status into the response headers, for an answer that has no body (Trailers-Only).</summary>
    public static void WriteHeaders(HttpResponse response, Status status, Metadata? trailers = null) =>
        Write(response, status, trailers, static (r, name, value) => r.Headers.Append(name, value));

    // Static callbacks with the response passed in: every call ends here, so nothing is allocated for it.
    private static void Write(HttpResponse response, Status status, Metadata? trailers, Action<HttpResponse, string, string> add)
    {
        add(response, GrpcProtocol.StatusHeader, ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(status.Detail))
        {
            add(response, GrpcProtocol.MessageHeader, PercentEncoding.Encode(status.Detail));
        }

        foreach (var entry in trailers ?? [])
        {
            add(response, entry.Key, Metadata.ToWireValue(entry));
        }
    }
}
