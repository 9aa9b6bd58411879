using System.Buffers.Text;
using System.Text;
using Grpc.Core;

namespace AspireKv.Node.Grpc;

/// <summary>
/// The List continuation: the last key of the previous page, base64url-encoded. Opaque to
/// clients; it is checked against the prefix it is used with.
/// </summary>
public static class ListContinuation
{
    public static string Create(string lastKey) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(lastKey));

    /// <summary>The key to go on after, or null for the first page.</summary>
    public static string? Parse(string continuation, string prefix)
    {
        if (continuation.Length == 0)
        {
            return null;
        }

        string key;
        try
        {
            key = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Base64Url.DecodeFromChars(continuation));
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "continuation is not one this server issued; pass the continuation of the previous page unchanged, or empty for the first page."));
        }

        if (!key.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "continuation belongs to a different prefix; pass the same prefix as for the previous page."));
        }

        return key;
    }
}
