using AspireKv.Node.Commands;
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

    /// <summary>
    /// The caller, as the auth store this node last applied knows it; null while auth is off.
    /// Throws etcd's error when there is no token or it is not valid. One call's checks share it:
    /// the token is verified once, against one copy of the store.
    /// </summary>
    public AuthCaller? Caller(ServerCallContext context)
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

        return new AuthCaller(auth, AuthTokens.Verify(auth, token, replica.Time.GetUtcNow()) ?? throw EtcdErrors.InvalidAuthToken);
    }

    /// <summary>A token for <paramref name="user"/>, who must be in <paramref name="auth"/>.</summary>
    public string Issue(AuthView auth, string user) => AuthTokens.Issue(auth, user, replica.Time.GetUtcNow() + TokenLifetime);

    /// <summary>Throws etcd's permission denied unless the call may <paramref name="access"/> [key, rangeEnd); returns the caller (null while auth is off).</summary>
    public AuthCaller? Check(ServerCallContext context, KeyAccess access, string key, ReadOnlySpan<byte> rangeEnd)
    {
        var caller = Caller(context);
        caller?.Require(access, key, rangeEnd);
        return caller;
    }

    /// <summary>Throws etcd's permission denied unless the call may <paramref name="access"/> <paramref name="range"/>; returns the caller (null while auth is off).</summary>
    public AuthCaller? Check(ServerCallContext context, KeyAccess access, KeyRange range) => Check(context, access, range.Start, range.EtcdRangeEnd);

    /// <summary>Throws etcd's permission denied unless the call may run <paramref name="txn"/> (see <see cref="AuthCaller.RequireTxn"/>); returns the caller.</summary>
    public AuthCaller? CheckTxn(ServerCallContext context, TxnOp txn)
    {
        var caller = Caller(context);
        caller?.RequireTxn(txn);
        return caller;
    }

    /// <summary>Revoking a lease deletes its keys: throws etcd's permission denied unless the call may write each of them, as etcd checks it; returns the caller.</summary>
    public AuthCaller? CheckLeaseRevoke(ServerCallContext context, long lease)
    {
        var caller = Caller(context);
        if (caller is not null)
        {
            foreach (var key in replica.Read(state => state.FindLease(lease)?.Keys ?? []))
            {
                caller.Require(KeyAccess.Write, key, default);
            }
        }

        return caller;
    }

    /// <summary>Throws etcd's permission denied unless auth is off or the call is root's (auth changes, compaction); returns the caller.</summary>
    public AuthCaller? CheckRoot(ServerCallContext context)
    {
        var caller = Caller(context);
        caller?.RequireRoot();
        return caller;
    }
}

/// <summary>An authenticated caller and the copy of the auth store its call is checked against.</summary>
public sealed record AuthCaller(AuthView Auth, string User)
{
    public bool IsRoot => Auth.IsRoot(User);

    /// <summary>Throws etcd's permission denied unless the user may <paramref name="access"/> [key, rangeEnd).</summary>
    public void Require(KeyAccess access, string key, ReadOnlySpan<byte> rangeEnd)
    {
        if (!Auth.Allows(User, access, key, rangeEnd))
        {
            throw EtcdErrors.PermissionDenied;
        }
    }

    /// <summary>
    /// A transaction needs READ on what it compares and reads, and WRITE on what it writes, in both
    /// branches, as etcd checks it: after the whole transaction is valid (etcd validates it first).
    /// </summary>
    public void RequireTxn(TxnOp txn)
    {
        foreach (var compare in txn.Compares)
        {
            Require(KeyAccess.Read, compare.Key, compare.RangeEnd.Span);
        }

        foreach (var step in txn.Success.Concat(txn.Failure))
        {
            switch (step.OpCase)
            {
                case TxnStep.OpOneofCase.Put:
                    Require(Writing(step.Put.ReturnPrevious), step.Put.Key, default);
                    break;
                case TxnStep.OpOneofCase.Delete:
                    var deleted = KvStateMachine.RangeOf(step.Delete);
                    Require(Writing(step.Delete.ReturnPrevious), deleted.Start, deleted.EtcdRangeEnd);
                    break;
                case TxnStep.OpOneofCase.Range:
                    Require(KeyAccess.Read, step.Range.Key, step.Range.RangeEnd.Span);
                    break;
            }
        }
    }

    /// <summary>What a write needs: WRITE, and READ too when it returns what it replaced (etcd's prev_kv).</summary>
    public static KeyAccess Writing(bool returnsPrevious) => returnsPrevious ? KeyAccess.Read | KeyAccess.Write : KeyAccess.Write;

    public void RequireRoot()
    {
        if (!IsRoot)
        {
            throw EtcdErrors.PermissionDenied;
        }
    }

    /// <summary>
    /// <paramref name="command"/>, marked with the auth store's revision this caller was checked
    /// against: every replica applies it only if the store is still at that revision.
    /// </summary>
    public static Command Checked(Command command, AuthCaller? caller)
    {
        command.AuthRevision = caller?.Auth.Revision ?? 0;
        return command;
    }
}
