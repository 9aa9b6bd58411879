using System.Security.Cryptography;
using AspireKv.Node.Auth;
using AspireKv.Node.Commands;
using AspireKv.Node.Grpc;
using AspireKv.Node.Replication;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using Grpc.Core;
using AuthPb = AspireKv.Etcd.AuthPb;
using EtcdPb = AspireKv.Etcd;

namespace AspireKv.Node.Etcd;

/// <summary>
/// etcd's <c>Auth</c> service over the replicated auth store (docs/security.md): users, roles and
/// key permissions, auth on and off, and Authenticate's tokens. Changes go through the log, with
/// passwords hashed here first; reads wait for a barrier, as etcd's are linearizable. While auth
/// is on, every call but Authenticate and AuthStatus is root's, except a user reading itself and
/// its own roles.
/// </summary>
public sealed class EtcdAuthService(Replica replica, EtcdIdentity identity, AuthGate auth) : EtcdPb.Auth.AuthBase
{
    public override async Task<EtcdPb.AuthEnableResponse> AuthEnable(EtcdPb.AuthEnableRequest request, ServerCallContext context)
    {
        await ChangeAsync(new AuthOp { Enable = new AuthEnableOp { TokenKey = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32)) } }, context).ConfigureAwait(false);
        return new EtcdPb.AuthEnableResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthDisableResponse> AuthDisable(EtcdPb.AuthDisableRequest request, ServerCallContext context)
    {
        await ChangeAsync(new AuthOp { Disable = new AuthDisableOp() }, context).ConfigureAwait(false);
        return new EtcdPb.AuthDisableResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthStatusResponse> AuthStatus(EtcdPb.AuthStatusRequest request, ServerCallContext context)
    {
        var view = await ReadAsync(context).ConfigureAwait(false);
        return new EtcdPb.AuthStatusResponse { Header = Header(), Enabled = view.Enabled, AuthRevision = (ulong)view.Revision };
    }

    public override async Task<EtcdPb.AuthenticateResponse> Authenticate(EtcdPb.AuthenticateRequest request, ServerCallContext context)
    {
        var view = await ReadAsync(context).ConfigureAwait(false);
        if (!view.Enabled)
        {
            throw EtcdErrors.AuthNotEnabled;
        }

        if (request.Name.Length == 0)
        {
            throw EtcdErrors.UserEmpty;
        }

        if (view.User(request.Name) is not { NoPassword: false } user || !Passwords.Verify(user.Password, request.Password))
        {
            throw EtcdErrors.AuthFailed;
        }

        return new EtcdPb.AuthenticateResponse { Header = Header(), Token = auth.Issue(view, request.Name) };
    }

    public override async Task<EtcdPb.AuthUserAddResponse> UserAdd(EtcdPb.AuthUserAddRequest request, ServerCallContext context)
    {
        var noPassword = request.Options?.NoPassword == true;
        var user = new AuthUser { Name = NameOf(request.Name, EtcdErrors.UserEmpty), NoPassword = noPassword };
        if (!noPassword)
        {
            user.Password = Passwords.Hash(PasswordOf(request.Password, request.HashedPassword));
        }

        await ChangeAsync(new AuthOp { UserAdd = user }, context).ConfigureAwait(false);
        return new EtcdPb.AuthUserAddResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthUserGetResponse> UserGet(EtcdPb.AuthUserGetRequest request, ServerCallContext context)
    {
        var view = await ReadAsync(context, self: request.Name).ConfigureAwait(false);
        var user = view.User(request.Name) ?? throw EtcdErrors.Auth(AuthErrors.UserNotFound);
        var response = new EtcdPb.AuthUserGetResponse { Header = Header() };
        response.Roles.AddRange(user.Roles);
        return response;
    }

    public override async Task<EtcdPb.AuthUserListResponse> UserList(EtcdPb.AuthUserListRequest request, ServerCallContext context)
    {
        var view = await ReadAsync(context, rootOnly: true).ConfigureAwait(false);
        var response = new EtcdPb.AuthUserListResponse { Header = Header() };
        response.Users.AddRange(view.State.Users.Select(u => u.Name));
        return response;
    }

    public override async Task<EtcdPb.AuthUserDeleteResponse> UserDelete(EtcdPb.AuthUserDeleteRequest request, ServerCallContext context)
    {
        await ChangeAsync(new AuthOp { UserDelete = new AuthName { Name = NameOf(request.Name, EtcdErrors.UserEmpty) } }, context).ConfigureAwait(false);
        return new EtcdPb.AuthUserDeleteResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthUserChangePasswordResponse> UserChangePassword(EtcdPb.AuthUserChangePasswordRequest request, ServerCallContext context)
    {
        var change = new AuthUser { Name = NameOf(request.Name, EtcdErrors.UserEmpty), Password = Passwords.Hash(PasswordOf(request.Password, request.HashedPassword)) };
        await ChangeAsync(new AuthOp { UserChangePassword = change }, context).ConfigureAwait(false);
        return new EtcdPb.AuthUserChangePasswordResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthUserGrantRoleResponse> UserGrantRole(EtcdPb.AuthUserGrantRoleRequest request, ServerCallContext context)
    {
        var grant = new AuthUserRole { User = NameOf(request.User, EtcdErrors.UserEmpty), Role = NameOf(request.Role, EtcdErrors.Auth(AuthErrors.RoleEmpty)) };
        await ChangeAsync(new AuthOp { UserGrantRole = grant }, context).ConfigureAwait(false);
        return new EtcdPb.AuthUserGrantRoleResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthUserRevokeRoleResponse> UserRevokeRole(EtcdPb.AuthUserRevokeRoleRequest request, ServerCallContext context)
    {
        var revoke = new AuthUserRole { User = NameOf(request.Name, EtcdErrors.UserEmpty), Role = NameOf(request.Role, EtcdErrors.Auth(AuthErrors.RoleEmpty)) };
        await ChangeAsync(new AuthOp { UserRevokeRole = revoke }, context).ConfigureAwait(false);
        return new EtcdPb.AuthUserRevokeRoleResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthRoleAddResponse> RoleAdd(EtcdPb.AuthRoleAddRequest request, ServerCallContext context)
    {
        await ChangeAsync(new AuthOp { RoleAdd = new AuthName { Name = NameOf(request.Name, EtcdErrors.Auth(AuthErrors.RoleEmpty)) } }, context).ConfigureAwait(false);
        return new EtcdPb.AuthRoleAddResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthRoleGetResponse> RoleGet(EtcdPb.AuthRoleGetRequest request, ServerCallContext context)
    {
        var view = await ReadAsync(context, ownRole: request.Role).ConfigureAwait(false);
        var response = new EtcdPb.AuthRoleGetResponse { Header = Header() };
        if (request.Role == AuthStore.Root && view.Role(AuthStore.Root) is null)
        {
            return response; // the root role needs no entry: it is every permission
        }

        var role = view.Role(request.Role) ?? throw EtcdErrors.Auth(AuthErrors.RoleNotFound);
        response.Perm.AddRange(role.Permissions.Select(p => new AuthPb.Permission { PermType = (AuthPb.Permission.Types.Type)(int)p.Type, Key = p.Key, RangeEnd = p.RangeEnd }));
        return response;
    }

    public override async Task<EtcdPb.AuthRoleListResponse> RoleList(EtcdPb.AuthRoleListRequest request, ServerCallContext context)
    {
        var view = await ReadAsync(context, rootOnly: true).ConfigureAwait(false);
        var response = new EtcdPb.AuthRoleListResponse { Header = Header() };
        response.Roles.AddRange(view.State.Roles.Select(r => r.Name));
        return response;
    }

    public override async Task<EtcdPb.AuthRoleDeleteResponse> RoleDelete(EtcdPb.AuthRoleDeleteRequest request, ServerCallContext context)
    {
        await ChangeAsync(new AuthOp { RoleDelete = new AuthName { Name = NameOf(request.Role, EtcdErrors.Auth(AuthErrors.RoleEmpty)) } }, context).ConfigureAwait(false);
        return new EtcdPb.AuthRoleDeleteResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthRoleGrantPermissionResponse> RoleGrantPermission(EtcdPb.AuthRoleGrantPermissionRequest request, ServerCallContext context)
    {
        var perm = request.Perm ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "etcdserver: permission not given"));
        EtcdCommands.Key(perm.Key);
        if (perm.PermType is not (AuthPb.Permission.Types.Type.Read or AuthPb.Permission.Types.Type.Write or AuthPb.Permission.Types.Type.Readwrite))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"permission type {(int)perm.PermType} is not READ (0), WRITE (1) or READWRITE (2)."));
        }

        CheckRange(perm.Key, perm.RangeEnd);
        var permission = new AuthPermission { Type = (AuthPermission.Types.Type)(int)perm.PermType, Key = perm.Key, RangeEnd = perm.RangeEnd };
        var grant = new AuthRolePermission { Role = NameOf(request.Name, EtcdErrors.Auth(AuthErrors.RoleEmpty)), Permission = permission };
        await ChangeAsync(new AuthOp { RoleGrantPermission = grant }, context).ConfigureAwait(false);
        return new EtcdPb.AuthRoleGrantPermissionResponse { Header = Header() };
    }

    public override async Task<EtcdPb.AuthRoleRevokePermissionResponse> RoleRevokePermission(EtcdPb.AuthRoleRevokePermissionRequest request, ServerCallContext context)
    {
        var revoke = new AuthRolePermission { Role = NameOf(request.Role, EtcdErrors.Auth(AuthErrors.RoleEmpty)), Permission = new AuthPermission { Key = request.Key, RangeEnd = request.RangeEnd } };
        await ChangeAsync(new AuthOp { RoleRevokePermission = revoke }, context).ConfigureAwait(false);
        return new EtcdPb.AuthRoleRevokePermissionResponse { Header = Header() };
    }

    private static void CheckRange(ByteString key, ByteString rangeEnd)
    {
        if (key.IsEmpty)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the permission's key is empty; name a key, or a prefix with --prefix."));
        }

        if (!AuthStore.IsValidRange(key, rangeEnd))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"the permission's range is inverted: range_end ({EtcdCommands.Key(rangeEnd, "range_end")}) must sort after the key ({EtcdCommands.Key(key)}), or be empty (the key alone) or \"\\0\" (every key from it on)."));
        }
    }

    private static string NameOf(string name, RpcException empty) => name.Length > 0 ? name : throw empty;

    private static string PasswordOf(string password, string hashed)
    {
        if (hashed.Length > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "AspireKv hashes passwords itself: send the password, not hashedPassword."));
        }

        return password.Length > 0
            ? password
            : throw new RpcException(new Status(StatusCode.InvalidArgument, "the password is empty: give one, or add the user with no password (it then cannot authenticate with one)."));
    }

    private EtcdPb.ResponseHeader Header() => identity.Header(replica.Inspect(s => s.Revision));

    /// <summary>A change to the store, as root (while auth is on), through the log.</summary>
    private async Task ChangeAsync(AuthOp op, ServerCallContext context)
    {
        var caller = auth.CheckRoot(context);
        OutcomeStatus.Check(await replica.ProposeAsync(AuthCaller.Checked(new Command { Auth = op }, caller), context.CancellationToken).ConfigureAwait(false));
    }

    /// <summary>The store once a barrier has applied, for a read by root, or by <paramref name="self"/>, or by a holder of <paramref name="ownRole"/>; anyone's unless one of those is set.</summary>
    private async Task<AuthView> ReadAsync(ServerCallContext context, bool rootOnly = false, string? self = null, string? ownRole = null)
    {
        if (rootOnly || self is not null || ownRole is not null)
        {
            if (auth.Caller(context) is { IsRoot: false } caller && caller.User != self && !(ownRole is not null && caller.Auth.User(caller.User)?.Roles.Contains(ownRole) == true))
            {
                throw EtcdErrors.PermissionDenied;
            }
        }

        await replica.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
        return replica.Auth;
    }
}
