using System.Security.Cryptography;
using System.Text;
using AspireKv.Node.Auth;
using AspireKv.Node.Commands;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using static AspireKv.UnitTests.Commands;

namespace AspireKv.UnitTests;

/// <summary>The replicated auth store as the state machine applies it, its permission checks, tokens and password hashes.</summary>
public sealed class AuthTests
{
    private readonly KvStateMachine _state = new();
    private long _offset;

    [Fact]
    public void Enabling_needs_root_with_the_root_role()
    {
        Assert.Equal(AuthErrors.RootUserNotExist, Refusal(Auth(new AuthOp { Enable = Enable() })));
        Ok(UserAdd("root", "secret"));
        Assert.Equal(AuthErrors.RootRoleNotExist, Refusal(Auth(new AuthOp { Enable = Enable() })));
        Ok(GrantRole("root", AuthStore.Root));
        Ok(new AuthOp { Enable = Enable() });
        Assert.True(_state.Auth.Enabled);
        Assert.True(_state.Auth.IsRoot("root"));
    }

    [Fact]
    public void Bad_changes_are_refused_with_etcd_texts_and_change_nothing()
    {
        Ok(UserAdd("alice", "pw"));
        Ok(new AuthOp { RoleAdd = new AuthName { Name = "app" } });
        var revision = _state.Auth.Revision;

        Assert.Equal(AuthErrors.UserAlreadyExist, Refusal(Auth(UserAdd("alice", "other"))));
        Assert.Equal(AuthErrors.RoleAlreadyExist, Refusal(Auth(new AuthOp { RoleAdd = new AuthName { Name = "app" } })));
        Assert.Equal(AuthErrors.UserNotFound, Refusal(Auth(GrantRole("bob", "app"))));
        Assert.Equal(AuthErrors.RoleNotFound, Refusal(Auth(GrantRole("alice", "nope"))));
        Assert.Equal(AuthErrors.RoleNotGranted, Refusal(Auth(new AuthOp { UserRevokeRole = new AuthUserRole { User = "alice", Role = "app" } })));
        Ok(GrantRole("alice", "app"));
        Assert.Equal(AuthErrors.RoleAlreadyGranted, Refusal(Auth(GrantRole("alice", "app"))));
        Assert.Equal(AuthErrors.UserEmpty, Refusal(Auth(UserAdd("", "pw"))));
        Assert.Equal(AuthErrors.RoleEmpty, Refusal(Auth(new AuthOp { RoleAdd = new AuthName { Name = "" } })));
        Assert.Equal(AuthErrors.PermissionNotGranted, Refusal(Auth(new AuthOp { RoleRevokePermission = new AuthRolePermission { Role = "app", Permission = Permission(AuthPermission.Types.Type.Read, "/x/", prefix: true) } })));
        Assert.Equal(AuthErrors.InvalidAuthManagement, Refusal(Auth(new AuthOp())));
        Assert.Equal(revision + 1, _state.Auth.Revision); // only the one grant that was allowed
    }

    [Fact]
    public void A_prefix_permission_covers_its_keys_and_ranges_inside_it_and_nothing_else()
    {
        Ok(UserAdd("alice", "pw"));
        Ok(new AuthOp { RoleAdd = new AuthName { Name = "app" } });
        Ok(new AuthOp { RoleGrantPermission = new AuthRolePermission { Role = "app", Permission = Permission(AuthPermission.Types.Type.Readwrite, "/app/", prefix: true) } });
        Ok(new AuthOp { RoleAdd = new AuthName { Name = "reader" } });
        Ok(new AuthOp { RoleGrantPermission = new AuthRolePermission { Role = "reader", Permission = Permission(AuthPermission.Types.Type.Read, "/pub/", prefix: true) } });
        Ok(GrantRole("alice", "app"));
        Ok(GrantRole("alice", "reader"));
        var auth = _state.Auth;

        Assert.True(auth.Allows("alice", KeyAccess.Write, "/app/a", default));
        Assert.True(auth.Allows("alice", KeyAccess.Read | KeyAccess.Write, "/app/a", default));
        Assert.True(auth.Allows("alice", KeyAccess.Read, "/app/a", "/app/b"u8));
        Assert.True(auth.Allows("alice", KeyAccess.Read, "/pub/x", default));
        Assert.False(auth.Allows("alice", KeyAccess.Write, "/pub/x", default));
        Assert.False(auth.Allows("alice", KeyAccess.Read, "/other", default));
        Assert.False(auth.Allows("alice", KeyAccess.Read, "/app/", [0])); // every key from /app/ on reaches past the prefix
        Assert.False(auth.Allows("alice", KeyAccess.Read, "/", "/pub0"u8)); // spans both grants and what lies between
        Assert.False(auth.Allows("nobody", KeyAccess.Read, "/app/a", default));
    }

    [Fact]
    public void A_write_checked_against_an_older_auth_store_is_refused_at_apply_on_every_replica()
    {
        EnableWithAlice();
        var checkedAt = _state.Auth.Revision;
        var stamped = Put("/app/a", "1");
        stamped.AuthRevision = checkedAt;
        Assert.Equal(CommandOutcome.Applied, Apply(stamped).Outcome);

        // A write the node checked while auth was off, applied after it was turned on.
        Assert.Equal(AuthErrors.OldRevision, Refusal(Put("/app/b", "1")));

        // A revoke lands between the check and the apply: the write is refused, not let through.
        var late = Put("/app/c", "1");
        late.AuthRevision = checkedAt;
        Ok(new AuthOp { UserRevokeRole = new AuthUserRole { User = "alice", Role = "app" } }, stampedAt: checkedAt);
        Assert.Equal(AuthErrors.OldRevision, Refusal(late));
        Assert.Null(_state.Get("/app/c"));

        // What the node itself proposes (ticks) and what etcd does not check (lease grants) still apply.
        Assert.NotEqual(CommandOutcome.AuthRefused, Apply(Tick()).Outcome);
        Assert.Equal(CommandOutcome.Applied, Apply(Grant(7, 30)).Outcome);
    }

    [Fact]
    public void Snapshots_keep_the_auth_store_and_the_state_hash_covers_it()
    {
        EnableWithAlice();
        var hash = _state.ComputeStateHash();
        var restored = KvStateMachine.Restore(_state.Capture());
        Assert.True(restored.Auth.Enabled);
        Assert.Equal(_state.Auth.State, restored.Auth.State);
        Assert.Equal(hash, restored.ComputeStateHash());

        Ok(new AuthOp { UserRevokeRole = new AuthUserRole { User = "alice", Role = "app" } }, stampedAt: _state.Auth.Revision);
        Assert.NotEqual(hash, _state.ComputeStateHash());
    }

    [Fact]
    public void Tokens_name_their_user_until_they_expire_the_password_changes_or_the_key_rotates()
    {
        EnableWithAlice();
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var token = AuthTokens.Issue(_state.Auth, "alice", now.AddMinutes(5));
        Assert.Equal("alice", AuthTokens.Verify(_state.Auth, token, now));
        Assert.Null(AuthTokens.Verify(_state.Auth, token, now.AddMinutes(6)));
        Assert.Null(AuthTokens.Verify(_state.Auth, token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1], now));
        Assert.Null(AuthTokens.Verify(_state.Auth, "not-a-token", now));
        Assert.Null(AuthTokens.Verify(_state.Auth, "akv1.%%%.", now));

        var revision = _state.Auth.Revision;
        Ok(new AuthOp { UserChangePassword = new AuthUser { Name = "alice", Password = Passwords.Hash("new") } }, stampedAt: revision);
        Assert.Null(AuthTokens.Verify(_state.Auth, token, now));

        var fresh = AuthTokens.Issue(_state.Auth, "alice", now.AddMinutes(5));
        Ok(new AuthOp { Enable = Enable() }, stampedAt: _state.Auth.Revision); // enabling again rotates the key
        Assert.Null(AuthTokens.Verify(_state.Auth, fresh, now));
    }

    [Fact]
    public void Password_hashes_are_salted_and_never_hold_the_password()
    {
        var first = Passwords.Hash("correct horse");
        var second = Passwords.Hash("correct horse");
        Assert.NotEqual(first.Hash, second.Hash);
        Assert.True(Passwords.Verify(first, "correct horse"));
        Assert.False(Passwords.Verify(first, "correct hors"));
        Assert.False(Passwords.Verify(null, "correct horse"));
        Assert.False(Passwords.Verify(new PasswordHash { Iterations = int.MaxValue, Salt = first.Salt, Hash = first.Hash }, "correct horse"));
        Assert.DoesNotContain("correct horse", Encoding.UTF8.GetString(first.ToByteArray()), StringComparison.Ordinal);
    }

    private void EnableWithAlice()
    {
        Ok(UserAdd("root", "secret"));
        Ok(GrantRole("root", AuthStore.Root));
        Ok(UserAdd("alice", "pw"));
        Ok(new AuthOp { RoleAdd = new AuthName { Name = "app" } });
        Ok(new AuthOp { RoleGrantPermission = new AuthRolePermission { Role = "app", Permission = Permission(AuthPermission.Types.Type.Readwrite, "/app/", prefix: true) } });
        Ok(GrantRole("alice", "app"));
        Ok(new AuthOp { Enable = Enable() });
    }

    private static AuthEnableOp Enable() => new() { TokenKey = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32)) };

    private static AuthOp UserAdd(string name, string password) => new() { UserAdd = new AuthUser { Name = name, Password = Passwords.Hash(password) } };

    private static AuthOp GrantRole(string user, string role) => new() { UserGrantRole = new AuthUserRole { User = user, Role = role } };

    private static AuthPermission Permission(AuthPermission.Types.Type type, string key, bool prefix) => new()
    {
        Type = type,
        Key = ByteString.CopyFromUtf8(key),
        RangeEnd = prefix ? ByteString.CopyFrom(KeyRange.PrefixEnd(Encoding.UTF8.GetBytes(key))) : ByteString.Empty,
    };

    private static Command Auth(AuthOp op, long stampedAt = 0) => new() { Id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()), Auth = op, AuthRevision = stampedAt };

    private void Ok(AuthOp op, long stampedAt = 0) => Assert.Equal(CommandOutcome.Applied, Apply(Auth(op, stampedAt)).Outcome);

    private string? Refusal(Command command)
    {
        var result = Apply(command);
        Assert.Equal(CommandOutcome.AuthRefused, result.Outcome);
        return result.Reason;
    }

    private CommandResult Apply(Command command)
    {
        var results = new List<CommandResult>();
        Assert.True(_state.Apply(_offset, Hash(_offset++), Entry(command), results));
        return results.Single();
    }
}
