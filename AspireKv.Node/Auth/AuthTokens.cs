using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using AspireKv.Node.StateMachine;

namespace AspireKv.Node.Auth;

/// <summary>
/// The tokens Authenticate hands out: the user's name, the auth revision that last set its
/// password, and when the token ends, signed with HMAC-SHA256 under the store's token key. Every
/// node holds the key (it is in the replicated state), so any node accepts a token any node made.
/// A token ends when it expires (by the checking node's clock), when the user's password changes
/// or the user goes, and when auth is enabled again (a new key).
/// </summary>
public static class AuthTokens
{
    private const string Prefix = "akv1.";
    private const int MacBytes = 32;

    public static string Issue(AuthView auth, string user, DateTimeOffset expires)
    {
        var name = Encoding.UTF8.GetBytes(user);
        var body = new byte[16 + name.Length];
        BinaryPrimitives.WriteInt64LittleEndian(body, auth.User(user)!.CredentialRevision);
        BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), expires.ToUnixTimeSeconds());
        name.CopyTo(body, 16);
        return Prefix + Base64Url(body) + "." + Base64Url(HMACSHA256.HashData(auth.State.TokenKey.Span, body));
    }

    /// <summary>The user a token names, or null when the token is not one <paramref name="auth"/> accepts at <paramref name="now"/>.</summary>
    public static string? Verify(AuthView auth, string token, DateTimeOffset now)
    {
        if (!token.StartsWith(Prefix, StringComparison.Ordinal) || auth.State.TokenKey.IsEmpty)
        {
            return null;
        }

        var parts = token[Prefix.Length..].Split('.');
        if (parts.Length != 2 || FromBase64Url(parts[0]) is not { Length: >= 16 } body || FromBase64Url(parts[1]) is not { Length: MacBytes } mac
            || !CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(auth.State.TokenKey.Span, body), mac))
        {
            return null;
        }

        var user = Encoding.UTF8.GetString(body.AsSpan(16));
        return BinaryPrimitives.ReadInt64LittleEndian(body.AsSpan(8)) > now.ToUnixTimeSeconds()
            && auth.User(user)?.CredentialRevision == BinaryPrimitives.ReadInt64LittleEndian(body)
            ? user
            : null;
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static byte[]? FromBase64Url(string text)
    {
        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
