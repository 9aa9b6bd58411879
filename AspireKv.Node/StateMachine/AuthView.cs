using System.Collections.Concurrent;
using System.Text;
using AspireKv.Node.Commands;

namespace AspireKv.Node.StateMachine;

/// <summary>What a key permission allows: reading, writing, or both.</summary>
[Flags]
public enum KeyAccess
{
    Read = 1,
    Write = 2,
}

/// <summary>
/// One published state of the auth store, never changed after: safe to read from any thread. It
/// answers whether a user may read or write a key range, as etcd decides: the root role may do
/// anything; otherwise the user's roles' permissions of that kind, together, must cover the range.
/// </summary>
public sealed class AuthView
{
    public static readonly AuthView Empty = new(new AuthState());

    private readonly Dictionary<string, AuthUser> _users;
    private readonly Dictionary<string, AuthRole> _roles;
    private readonly ConcurrentDictionary<(string User, KeyAccess Access), (byte[] Start, byte[] End)[]> _granted = new();

    public AuthView(AuthState state)
    {
        State = state;
        _users = state.Users.ToDictionary(u => u.Name, StringComparer.Ordinal);
        _roles = state.Roles.ToDictionary(r => r.Name, StringComparer.Ordinal);
    }

    /// <summary>The store as it was published; callers must not change it.</summary>
    public AuthState State { get; }

    public bool Enabled => State.Enabled;

    public long Revision => State.Revision;

    public AuthUser? User(string name) => _users.GetValueOrDefault(name);

    public AuthRole? Role(string name) => _roles.GetValueOrDefault(name);

    public bool IsRoot(string user) => User(user)?.Roles.Contains(AuthStore.Root) == true;

    /// <summary>Whether <paramref name="user"/> may <paramref name="access"/> [key, rangeEnd) (an etcd range: empty is the key alone, "\0" every key from it on).</summary>
    public bool Allows(string user, KeyAccess access, string key, ReadOnlySpan<byte> rangeEnd)
    {
        if (User(user) is not { } found)
        {
            return false;
        }

        if (found.Roles.Contains(AuthStore.Root))
        {
            return true;
        }

        if (access == (KeyAccess.Read | KeyAccess.Write))
        {
            // Each on its own, as etcd checks them: READ from one role and WRITE from another will do.
            return Allows(user, KeyAccess.Read, key, rangeEnd) && Allows(user, KeyAccess.Write, key, rangeEnd);
        }

        var start = Encoding.UTF8.GetBytes(key);
        var end = rangeEnd.IsEmpty ? SingleEnd(start) : rangeEnd.ToArray();
        return Covers(_granted.GetOrAdd((user, access), Granted), start, end);
    }

    /// <summary>The ranges the user's roles grant <paramref name="grant"/>.Access on, in order of start; worked out once per user and kind in this copy.</summary>
    private (byte[] Start, byte[] End)[] Granted((string User, KeyAccess Access) grant)
    {
        var granted = new List<(byte[] Start, byte[] End)>();
        foreach (var role in User(grant.User)?.Roles ?? [])
        {
            foreach (var permission in Role(role)?.Permissions ?? [])
            {
                if ((Grants(permission.Type) & grant.Access) == grant.Access)
                {
                    var from = permission.Key.ToByteArray();
                    granted.Add((from, permission.RangeEnd.IsEmpty ? SingleEnd(from) : permission.RangeEnd.ToByteArray()));
                }
            }
        }

        granted.Sort((a, b) => a.Start.AsSpan().SequenceCompareTo(b.Start));
        return [.. granted];
    }

    private static KeyAccess Grants(AuthPermission.Types.Type type) => type switch
    {
        AuthPermission.Types.Type.Read => KeyAccess.Read,
        AuthPermission.Types.Type.Write => KeyAccess.Write,
        AuthPermission.Types.Type.Readwrite => KeyAccess.Read | KeyAccess.Write,
        _ => 0,
    };

    /// <summary>The end of the range that holds <paramref name="key"/> alone: the key and a zero byte.</summary>
    private static byte[] SingleEnd(byte[] key) => [.. key, 0];

    /// <summary>Whether the ranges (in order of start) cover [start, end) (an end of "\0" is no end) with no gap.</summary>
    private static bool Covers((byte[] Start, byte[] End)[] ranges, byte[] start, byte[] end)
    {
        var cursor = start;
        foreach (var (from, to) in ranges)
        {
            if (from.AsSpan().SequenceCompareTo(cursor) > 0)
            {
                return false; // a gap before this range
            }

            if (to is [0])
            {
                return true; // no end
            }

            if (to.AsSpan().SequenceCompareTo(cursor) > 0)
            {
                cursor = to;
            }

            if (end is not [0] && cursor.AsSpan().SequenceCompareTo(end) >= 0)
            {
                return true;
            }
        }

        return false;
    }
}
