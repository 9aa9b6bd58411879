using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;

namespace AspireKv.Grpc.Tests;

/// <summary>Sends hand-made HTTP/2 requests, to put bytes on the wire that the runtime's own client never would.</summary>
public static class RawHttp2
{
    public static HttpClient CreateClient() => new(new SocketsHttpHandler { UseProxy = false });

    public static byte[] Frame(byte[] payload, byte flag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public static HttpRequestMessage Request(Uri address, string path, byte[] body, string contentType = "application/grpc", Version? version = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Version = version ?? HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TE.ParseAdd("trailers");
        return request;
    }

    /// <summary>The grpc-status of a response, from its trailers or (Trailers-Only) its headers.</summary>
    public static async Task<(int Status, string? Message, byte[] Body)> ReadStatusAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        var headers = response.Headers.Contains("grpc-status") ? (HttpHeaders)response.Headers : response.TrailingHeaders;
        var status = int.Parse(headers.GetValues("grpc-status").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var message = headers.TryGetValues("grpc-message", out var values) ? values.Single() : null;
        return (status, message, body);
    }
}
