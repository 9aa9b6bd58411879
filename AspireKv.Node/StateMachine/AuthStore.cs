using AspireKv.Node.Commands;
using Google.Protobuf;

namespace AspireKv.Node.StateMachine;

/// <summary>
/// etcd's errors for auth changes, by their exact texts: the state machine refuses with one of these
/// as the reason (<see cref="CommandOutcome.AuthRefused"/>), and the etcd API answers it with etcd's code.
/// </summary>
public static class AuthErrors
{
    public const string RootUserNotExist = "etcdserver: root user does not exist";
    public const string RootRoleNotExist = "etcdserver: root user does not have root role";
    public const string UserAlreadyExist = "etcdserver: user name already exists";
    public const string UserEmpty = "etcdserver: user name is empty";
    public const string UserNotFound = "etcdserver: user name not found";
    public const string RoleAlreadyExist = "etcdserver: role name already exists";
    public const string RoleNotFound = "etcdserver: role name not found";
    public const string RoleEmpty = "etcdserver: role name is empty";
    public const string RoleNotGranted = "etcdserver: role is not granted to the user";
    public const string PermissionNotGranted = "etcdserver: permission is not granted to the role";
    public const string InvalidAuthManagement = "etcdserver: invalid auth management";
    public const string OldRevision = "etcdserver: revision of auth store is old";
    public const string RoleAlreadyGranted = "etcdserver: role is already granted to the user";
}

/// <summary>
/// The replicated auth store: users (with hashed passwords and their roles), roles (with their key
/// permissions), whether auth is on, and the key tokens are signed with. Changed only by
/// <see cref="Apply"/>, deterministically; readers take <see cref="View"/>, an immutable copy
/// published after each change, without the replica's lock.
/// </summary>
public sealed class AuthStore
{
    public const string Root = "root";

    private AuthState _state = new();
    private volatile AuthView _view = AuthView.Empty;

    public AuthView View => _view;

    public AuthState Capture() => _state.Clone();

    public void Restore(AuthState? state)
    {
        _state = state?.Clone() ?? new AuthState();
        Publish();
    }

    /// <summary>Applies one change; returns null when it was made, or etcd's error text when it was refused.</summary>
    public string? Apply(AuthOp op)
    {
        var refused = op.OpCase switch
        {
            AuthOp.OpOneofCase.Enable => Enable(op.Enable),
            AuthOp.OpOneofCase.Disable => Disable(),
            AuthOp.OpOneofCase.UserAdd => UserAdd(op.UserAdd),
            AuthOp.OpOneofCase.UserDelete => UserDelete(op.UserDelete.Name),
            AuthOp.OpOneofCase.UserChangePassword => ChangePassword(op.UserChangePassword),
            AuthOp.OpOneofCase.UserGrantRole => GrantRole(op.UserGrantRole),
            AuthOp.OpOneofCase.UserRevokeRole => RevokeRole(op.UserRevokeRole),
            AuthOp.OpOneofCase.RoleAdd => RoleAdd(op.RoleAdd.Name),
            AuthOp.OpOneofCase.RoleDelete => RoleDelete(op.RoleDelete.Name),
            AuthOp.OpOneofCase.RoleGrantPermission => GrantPermission(op.RoleGrantPermission),
            AuthOp.OpOneofCase.RoleRevokePermission => RevokePermission(op.RoleRevokePermission),
            _ => AuthErrors.InvalidAuthManagement,
        };
        if (refused is null)
        {
            _state.Revision++;
            Publish();
        }

        return refused;
    }

    private string? Enable(AuthEnableOp enable)
    {
        if (FindUser(Root) is not { } root)
        {
            return AuthErrors.RootUserNotExist;
        }

        if (!root.Roles.Contains(Root))
        {
            return AuthErrors.RootRoleNotExist;
        }

        if (enable.TokenKey.Length < 16)
        {
            return AuthErrors.InvalidAuthManagement;
        }

        _state.Enabled = true;
        _state.TokenKey = enable.TokenKey;
        return null;
    }

    private string? Disable()
    {
        _state.Enabled = false;
        _state.TokenKey = ByteString.Empty;
        return null;
    }

    private string? UserAdd(AuthUser add)
    {
        if (add.Name.Length == 0)
        {
            return AuthErrors.UserEmpty;
        }

        if (FindUser(add.Name) is not null)
        {
            return AuthErrors.UserAlreadyExist;
        }

        if (add.Password is null && !add.NoPassword)
        {
            return AuthErrors.InvalidAuthManagement;
        }

        var user = new AuthUser { Name = add.Name, Password = add.NoPassword ? null : add.Password, NoPassword = add.NoPassword, CredentialRevision = _state.Revision + 1 };
        Insert(_state.Users, user, u => u.Name);
        return null;
    }

    private string? UserDelete(string name)
    {
        if (_state.Enabled && name == Root)
        {
            return AuthErrors.InvalidAuthManagement;
        }

        var index = IndexOf(_state.Users, name, u => u.Name);
        if (index < 0)
        {
            return AuthErrors.UserNotFound;
        }

        _state.Users.RemoveAt(index);
        return null;
    }

    private string? ChangePassword(AuthUser change)
    {
        if (FindUser(change.Name) is not { } user)
        {
            return AuthErrors.UserNotFound;
        }

        if (change.Password is null)
        {
            return AuthErrors.InvalidAuthManagement;
        }

        user.Password = change.Password;
        user.NoPassword = false;
        user.CredentialRevision = _state.Revision + 1;
        return null;
    }

    private string? GrantRole(AuthUserRole grant)
    {
        if (FindUser(grant.User) is not { } user)
        {
            return AuthErrors.UserNotFound;
        }

        // The root role need not exist as a role: it is every permission.
        if (grant.Role != Root && FindRole(grant.Role) is null)
        {
            return AuthErrors.RoleNotFound;
        }

        var index = user.Roles.ToList().BinarySearch(grant.Role, StringComparer.Ordinal);
        if (index >= 0)
        {
            return AuthErrors.RoleAlreadyGranted;
        }

        user.Roles.Insert(~index, grant.Role);
        return null;
    }

    private string? RevokeRole(AuthUserRole revoke)
    {
        if (_state.Enabled && revoke.User == Root && revoke.Role == Root)
        {
            return AuthErrors.InvalidAuthManagement;
        }

        if (FindUser(revoke.User) is not { } user)
        {
            return AuthErrors.UserNotFound;
        }

        return user.Roles.Remove(revoke.Role) ? null : AuthErrors.RoleNotGranted;
    }

    private string? RoleAdd(string name)
    {
        if (name.Length == 0)
        {
            return AuthErrors.RoleEmpty;
        }

        if (FindRole(name) is not null)
        {
            return AuthErrors.RoleAlreadyExist;
        }

        Insert(_state.Roles, new AuthRole { Name = name }, r => r.Name);
        return null;
    }

    private string? RoleDelete(string name)
    {
        if (_state.Enabled && name == Root)
        {
            return AuthErrors.InvalidAuthManagement;
        }

        var index = IndexOf(_state.Roles, name, r => r.Name);
        if (index < 0)
        {
            return AuthErrors.RoleNotFound;
        }

        _state.Roles.RemoveAt(index);
        foreach (var user in _state.Users)
        {
            user.Roles.Remove(name);
        }

        return null;
    }

    private string? GrantPermission(AuthRolePermission grant)
    {
        if (FindRole(grant.Role) is not { } role)
        {
            return AuthErrors.RoleNotFound;
        }

        if (grant.Permission is not { } permission || !IsValidRange(permission.Key, permission.RangeEnd))
        {
            return AuthErrors.InvalidAuthManagement;
        }

        // A permission on the same range is replaced (its type changes), as etcd does.
        var same = role.Permissions.FirstOrDefault(p => p.Key == permission.Key && p.RangeEnd == permission.RangeEnd);
        if (same is not null)
        {
            same.Type = permission.Type;
            return null;
        }

        var at = role.Permissions.TakeWhile(p => Compare(p, permission) < 0).Count();
        role.Permissions.Insert(at, permission.Clone());
        return null;
    }

    private string? RevokePermission(AuthRolePermission revoke)
    {
        if (FindRole(revoke.Role) is not { } role)
        {
            return AuthErrors.RoleNotFound;
        }

        var key = revoke.Permission?.Key ?? ByteString.Empty;
        var end = revoke.Permission?.RangeEnd ?? ByteString.Empty;
        var same = role.Permissions.FirstOrDefault(p => p.Key == key && p.RangeEnd == end);
        return same is not null && role.Permissions.Remove(same) ? null : AuthErrors.PermissionNotGranted;
    }

    /// <summary>A permission's range: a key, and no end (the key alone), "\0" (every key from it on), or an end after the key.</summary>
    public static bool IsValidRange(ByteString key, ByteString rangeEnd) =>
        key.Length > 0 && (rangeEnd.IsEmpty || rangeEnd.Span is [0] || key.Span.SequenceCompareTo(rangeEnd.Span) < 0);

    private static int Compare(AuthPermission a, AuthPermission b)
    {
        var order = a.Key.Span.SequenceCompareTo(b.Key.Span);
        return order != 0 ? order : a.RangeEnd.Span.SequenceCompareTo(b.RangeEnd.Span);
    }

    private AuthUser? FindUser(string name) => IndexOf(_state.Users, name, u => u.Name) is var i and >= 0 ? _state.Users[i] : null;

    private AuthRole? FindRole(string name) => IndexOf(_state.Roles, name, r => r.Name) is var i and >= 0 ? _state.Roles[i] : null;

    private static int IndexOf<T>(IList<T> items, string name, Func<T, string> nameOf)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (nameOf(items[i]) == name)
            {
                return i;
            }
        }

        return -1;
    }

    private static void Insert<T>(IList<T> items, T item, Func<T, string> nameOf)
    {
        var at = items.TakeWhile(i => string.CompareOrdinal(nameOf(i), nameOf(item)) < 0).Count();
        items.Insert(at, item);
    }

    private void Publish() => _view = new AuthView(_state.Clone());
}
