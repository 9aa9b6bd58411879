using System.Globalization;
using AspireKv.Grpc.Protocol;
using Microsoft.AspNetCore.Http;

namespace AspireKv.Grpc.Server;

/// <summary>Writes a call's status: <c>grpc-status</c>, <c>grpc-message</c> and the trailing metadata, as headers or as trailers.</summary>
internal static class StatusWriter
{
    /// <summary>Adds the status through <paramref name="add"/>: into the headers for Trailers-Only, into the trailers otherwise.</summary>
    public static void Write(Status status, Metadata? trailers, Action<string, string> add)
    {
        add(GrpcProtocol.StatusHeader, ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(status.Detail))
        {
            add(GrpcProtocol.MessageHeader, PercentEncoding.Encode(status.Detail));
        }

        foreach (var entry in trailers ?? [])
        {
            add(entry.Key, Metadata.ToWireValue(entry));
        }
    }

    /// <summary>Puts the status into the response headers, for an answer that has no body.</summary>
    public static void WriteHeaders(HttpResponse response, Status status, Metadata? trailers = null) =>
        Write(status, trailers, (name, value) => response.Headers.Append(name, value));
}
