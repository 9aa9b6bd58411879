using AspireKv.Node.Etcd;
using AspireKv.Node.Replication;
using AspireKv.Node.StateMachine;
using Grpc.Core;

namespace AspireKv.Node.Auth;

/// <summary>
/// Who a call is, and what it may do, while auth is on: the token it sends as metadata
/// <c>token</c> (as etcd's clientv3 does) names the user, and the user's roles decide. With auth
/// off every call may do anything, and the check costs one read of a published copy.
/// </summary>
public sealed class AuthGate(Replica replica)
{
    /// <summary>The metadata key clients send their token under.</summary>
    public const string TokenHeader = "token";

    /// <summary>How long a token lasts: etcd's default for its simple tokens (clientv3 authenticates again when one ends).</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(5);

    /// <summary>The auth store as this node last applied it.</summary>
    public AuthView Auth => replica.Auth;

    /// <summary>The user the call's token names; null while auth is off. Throws etcd's error when there is no token or it is not valid.</summary>
    public string? User(ServerCallContext context)
    {
        var auth = replica.Auth;
        if (!auth.Enabled)
        {
            return null;
        }

        if (context.RequestHeaders.GetValue(TokenHeader) is not { Length: > 0 } token)
        {
            throw EtcdErrors.UserEmpty;
        }

        return AuthTokens.Verify(auth, token, replica.Time.GetUtcNow()) ?? throw EtcdErrors.InvalidAuthToken;
    }

    public string Issue(string user) => AuthTokens.Issue(replica.Auth, user, replica.Time.GetUtcNow() + TokenLifetime);

    /// <summary>Throws etcd's permission denied unless the call may <paramref name="access"/> [key, rangeEnd).</summary>
    public void Check(ServerCallContext context, KeyAccess access, string key, ReadOnlySpan<byte> rangeEnd)
    {
        if (User(context) is { } user && !replica.Auth.Allows(user, access, key, rangeEnd))
        {
            throw EtcdErrors.PermissionDenied;
        }
    }

    /// <summary>Throws etcd's permission denied unless auth is off or the call is root's (auth changes, compaction).</summary>
    public void CheckRoot(ServerCallContext context)
    {
        if (User(context) is { } user && !replica.Auth.IsRoot(user))
        {
            throw EtcdErrors.PermissionDenied;
        }
    }
}
