using System.Globalization;
using System.Text;
using System.Text.Json;
using AspireKv.Client;
using AspireKv.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using EtcdPb = AspireKv.Etcd;

namespace AspireKv.IntegrationTests;

/// <summary>
/// Three nodes of their own for the auth tests: turning auth on would refuse the other suites'
/// calls. Each test leaves auth off again, with the root user this fixture knows the password of.
/// </summary>
public sealed class AuthClusterFixture : ClusterFixture
{
    private readonly Dictionary<string, GrpcChannel> _channels = [];

    /// <summary>Root's password: distinct per run, so that a test can look for it in files.</summary>
    public string RootPassword { get; } = $"root-{Guid.NewGuid():N}";

    public GrpcChannel Channel(string node)
    {
        lock (_channels)
        {
            if (!_channels.TryGetValue(node, out var channel))
            {
                channel = _channels[node] = KvClient.CreateChannel(Nodes[node].Spec.GrpcAddress);
            }

            return channel;
        }
    }

    public EtcdPb.Auth.AuthClient Auth(string node) => new(Channel(node));

    public EtcdPb.KV.KVClient Kv(string node) => new(Channel(node));

    /// <summary>The token metadata of <paramref name="user"/>, authenticated on <paramref name="node"/>.</summary>
    public async Task<Metadata> LoginAsync(string node, string user, string password)
    {
        var response = await Auth(node).AuthenticateAsync(new EtcdPb.AuthenticateRequest { Name = user, Password = password }, deadline: Deadline);
        return new Metadata { { "token", response.Token } };
    }

    /// <summary>Turns auth off (as root) if a test left it on, and makes sure root exists with <see cref="RootPassword"/> and the root role.</summary>
    public async Task ResetAsync()
    {
        var status = await Auth("node1").AuthStatusAsync(new EtcdPb.AuthStatusRequest(), deadline: Deadline);
        if (status.Enabled)
        {
            await Auth("node1").AuthDisableAsync(new EtcdPb.AuthDisableRequest(), await LoginAsync("node1", "root", RootPassword), Deadline);
        }

        var users = await Auth("node1").UserListAsync(new EtcdPb.AuthUserListRequest(), deadline: Deadline);
        if (!users.Users.Contains("root"))
        {
            await Auth("node1").UserAddAsync(new EtcdPb.AuthUserAddRequest { Name = "root", Password = RootPassword }, deadline: Deadline);
            await Auth("node1").UserGrantRoleAsync(new EtcdPb.AuthUserGrantRoleRequest { User = "root", Role = "root" }, deadline: Deadline);
        }
    }

    /// <summary>A user with READWRITE on <paramref name="prefix"/> through a role of its own, and auth on.</summary>
    public async Task EnableWithUserAsync(string user, string password, string role, string prefix)
    {
        await ResetAsync();
        var auth = Auth("node1");
        await auth.RoleAddAsync(new EtcdPb.AuthRoleAddRequest { Name = role }, deadline: Deadline);
        await auth.RoleGrantPermissionAsync(new EtcdPb.AuthRoleGrantPermissionRequest { Name = role, Perm = Prefix(prefix) }, deadline: Deadline);
        await auth.UserAddAsync(new EtcdPb.AuthUserAddRequest { Name = user, Password = password }, deadline: Deadline);
        await auth.UserGrantRoleAsync(new EtcdPb.AuthUserGrantRoleRequest { User = user, Role = role }, deadline: Deadline);
        await auth.AuthEnableAsync(new EtcdPb.AuthEnableRequest(), deadline: Deadline);
    }

    /// <summary>
    /// Runs <paramref name="test"/> with auth on and a user of its own (named after
    /// <paramref name="tag"/>, with its password, its prefix and the run's id), then turns auth off.
    /// </summary>
    public async Task WithUserAsync(string tag, Func<string, string, string, string, Task> test)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var (user, password, prefix) = ($"{tag}{id}", $"{tag}-{id}", $"/{tag}{id}/");
        await EnableWithUserAsync(user, password, $"{tag}role{id}", prefix);
        try
        {
            await test(user, password, prefix, id);
        }
        finally
        {
            await ResetAsync();
        }
    }

    public static EtcdPb.AuthPb.Permission Prefix(string prefix) => new()
    {
        PermType = EtcdPb.AuthPb.Permission.Types.Type.Readwrite,
        Key = ByteString.CopyFromUtf8(prefix),
        RangeEnd = ByteString.CopyFrom(Node.StateMachine.KeyRange.PrefixEnd(Encoding.UTF8.GetBytes(prefix))),
    };

    public static DateTime Deadline => DateTime.UtcNow.AddSeconds(15);

    public override async Task DisposeAsync()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        await base.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class AuthClusterCollection : ICollectionFixture<AuthClusterFixture>
{
    public const string Name = "auth-cluster";
}

/// <summary>
/// Users, roles and key-range permissions (issue 28) across three real nodes: etcdctl and npm's
/// etcd3 as the clients, every change checked on another node than the one that made it.
/// </summary>
[Collection(AuthClusterCollection.Name)]
public sealed class AuthTests(AuthClusterFixture cluster)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(60);
    private readonly Etcdctl _etcdctl = new(cluster);

    [Fact]
    public async Task Etcdctl_sets_up_users_and_roles_turns_auth_on_and_off_and_every_node_enforces_it()
    {
        await cluster.ResetAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        var (alice, alicePassword, role, prefix, other) = ($"alice{id}", $"alice-{id}", $"app{id}", $"/app{id}/", $"/other{id}");
        var root = $"root:{cluster.RootPassword}";

        // 1. As etcd's guide has it, with each change read back from another node; root from
        // scratch (etcdctl's auth enable grants it the root role itself).
        await _etcdctl.OkAsync("node3", "user", "delete", "root");
        await _etcdctl.OkAsync("node1", "user", "add", root);
        Assert.Contains("User: root", await _etcdctl.OkAsync("node2", "user", "get", "root"));
        await _etcdctl.OkAsync("node1", "role", "add", role);
        await _etcdctl.OkAsync("node2", "role", "grant-permission", role, "readwrite", prefix, "--prefix=true");
        Assert.Contains($"(prefix {prefix})", await _etcdctl.OkAsync("node3", "role", "get", role));
        await _etcdctl.OkAsync("node1", "user", "add", $"{alice}:{alicePassword}");
        await _etcdctl.OkAsync("node2", "user", "grant-role", alice, role);
        Assert.Contains($"Roles: {role}", await _etcdctl.OkAsync("node3", "user", "get", alice));
        Assert.Contains("Authentication Enabled", await _etcdctl.OkAsync("node1", "auth", "enable"));
        try
        {
            // 4. No user, and a wrong password, on the other nodes.
            Assert.Contains("etcdserver: user name is empty", await _etcdctl.FailsAsync("node2", "get", prefix + "k"));
            Assert.Contains("etcdserver: authentication failed, invalid user ID or password", await _etcdctl.FailsAsync("node3", "--user", $"{alice}:wrong", "get", prefix + "k"));

            // 2. alice puts, gets and watches under her prefix, each on another node.
            using var put = JsonDocument.Parse(await _etcdctl.OkAsync("node1", "--user", $"{alice}:{alicePassword}", "put", prefix + "k", "v1", "-w", "json"));
            var revision = put.RootElement.GetProperty("header").GetProperty("revision").GetInt64().ToString(CultureInfo.InvariantCulture);
            Assert.Equal($"{prefix}k\nv1", (await _etcdctl.OkAsync("node2", "--user", $"{alice}:{alicePassword}", "get", prefix + "k")).Trim());

            // Watched from the put's revision, so it replays the put whenever the watch is created.
            await using (var watch = _etcdctl.Start("node3", "--user", $"{alice}:{alicePassword}", "watch", prefix, "--prefix", "--rev", revision))
            {
                await Eventually.TrueAsync(() => Etcdctl.Output(watch).Contains($"PUT\n{prefix}k\nv1", StringComparison.Ordinal), TimeSpan.FromSeconds(30), () => $"alice's watch saw only: {Etcdctl.Output(watch)}");
            }

            // 3. Outside her prefix she is refused, wherever she asks.
            Assert.Contains("etcdserver: permission denied", await _etcdctl.FailsAsync("node2", "--user", $"{alice}:{alicePassword}", "put", other, "x"));
            Assert.Contains("etcdserver: permission denied", await _etcdctl.FailsAsync("node3", "--user", $"{alice}:{alicePassword}", "get", other));

            // 5. root may do anything, and what it wrote is read on another node.
            await _etcdctl.OkAsync("node3", "--user", root, "put", other, "x");
            Assert.Equal($"{other}\nx", (await _etcdctl.OkAsync("node1", "--user", root, "get", other)).Trim());
            Assert.Contains(alice, await _etcdctl.OkAsync("node2", "--user", root, "user", "list"));
        }
        finally
        {
            // 6. Off again: anyone may call, on every node.
            Assert.Contains("Authentication Disabled", await _etcdctl.OkAsync("node2", "--user", root, "auth", "disable"));
        }

        Assert.Equal($"{other}\nx", (await _etcdctl.OkAsync("node1", "get", other)).Trim());
        await _etcdctl.OkAsync("node3", "put", other, "y");
    }

    [Fact]
    public async Task Npm_etcd3_authenticates_with_a_user_and_is_refused_outside_its_permissions()
    {
        await cluster.WithUserAsync("js", async (user, password, prefix, id) =>
        {
            var result = await NodeInterop.RunAsync("etcd3-auth.js", $"127.0.0.1:{cluster.Nodes["node2"].Spec.GrpcPort}", user, password, prefix, $"/elsewhere{id}");
            Assert.Equal("one", result.GetProperty("value").GetString());
            Assert.Equal([prefix + "a"], result.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
            Assert.Equal("EtcdPermissionDeniedError", result.GetProperty("otherPut").GetString());
            Assert.Equal("EtcdPermissionDeniedError", result.GetProperty("otherGet").GetString());
            Assert.Equal("EtcdAuthenticationFailedError", result.GetProperty("wrongPassword").GetString());
        });
    }

    [Fact]
    public async Task A_users_watch_outside_its_permissions_is_refused_and_inside_sees_only_its_prefix()
    {
        await cluster.WithUserAsync("w", async (user, password, prefix, id) =>
        {
            var headers = await cluster.LoginAsync("node3", user, password);
            var rootHeaders = await cluster.LoginAsync("node1", "root", cluster.RootPassword);
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var watch = new EtcdPb.Watch.WatchClient(cluster.Channel("node3")).Watch(headers, cancellationToken: cancel.Token);

            await watch.RequestStream.WriteAsync(Create($"/other{id}/", prefix: true));
            Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
            Assert.True(watch.ResponseStream.Current.Canceled, "a watch outside the user's permissions was created");
            Assert.Equal("etcdserver: permission denied", watch.ResponseStream.Current.CancelReason);

            await watch.RequestStream.WriteAsync(Create(prefix, prefix: true));
            Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
            Assert.True(watch.ResponseStream.Current.Created && !watch.ResponseStream.Current.Canceled);

            var kv = cluster.Kv("node1");
            await kv.PutAsync(new EtcdPb.PutRequest { Key = ByteString.CopyFromUtf8($"/other{id}/a"), Value = ByteString.CopyFromUtf8("hidden") }, rootHeaders, AuthClusterFixture.Deadline);
            await kv.PutAsync(new EtcdPb.PutRequest { Key = ByteString.CopyFromUtf8(prefix + "a"), Value = ByteString.CopyFromUtf8("seen") }, rootHeaders, AuthClusterFixture.Deadline);
            Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
            var events = watch.ResponseStream.Current.Events;
            Assert.Equal([prefix + "a"], events.Select(e => e.Kv.Key.ToStringUtf8()));
        });
    }

    [Fact]
    public async Task The_native_api_takes_the_same_token_and_enforces_the_same_permissions()
    {
        await cluster.WithUserAsync("n", async (user, password, prefix, id) =>
        {
            var native = new V1.KeyValue.KeyValueClient(cluster.Channel("node2"));
            var anonymous = await Assert.ThrowsAsync<RpcException>(() => native.GetAsync(new V1.GetRequest { Key = prefix + "a" }, deadline: AuthClusterFixture.Deadline).ResponseAsync);
            Assert.Equal((StatusCode.InvalidArgument, "etcdserver: user name is empty"), (anonymous.StatusCode, anonymous.Status.Detail));

            var headers = await cluster.LoginAsync("node1", user, password); // a token from another node
            await native.PutAsync(new V1.PutRequest { Key = prefix + "a", Value = ByteString.CopyFromUtf8("1") }, headers, AuthClusterFixture.Deadline);
            Assert.Equal("1", (await native.GetAsync(new V1.GetRequest { Key = prefix + "a" }, headers, AuthClusterFixture.Deadline)).Entry.Value.ToStringUtf8());
            Assert.Single((await native.ListAsync(new V1.ListRequest { Prefix = prefix }, headers, AuthClusterFixture.Deadline)).Entries);

            foreach (var refused in new Func<Task>[]
            {
                () => native.PutAsync(new V1.PutRequest { Key = $"/other{id}", Value = ByteString.CopyFromUtf8("1") }, headers, AuthClusterFixture.Deadline).ResponseAsync,
                () => native.ListAsync(new V1.ListRequest { Prefix = string.Empty }, headers, AuthClusterFixture.Deadline).ResponseAsync,
                () => native.DeleteAsync(new V1.DeleteRequest { Key = "/", Prefix = true }, headers, AuthClusterFixture.Deadline).ResponseAsync,
                () => native.CompactAsync(new V1.CompactRequest { Revision = 1 }, headers, AuthClusterFixture.Deadline).ResponseAsync,
            })
            {
                var error = await Assert.ThrowsAsync<RpcException>(refused);
                Assert.Equal((StatusCode.PermissionDenied, "etcdserver: permission denied"), (error.StatusCode, error.Status.Detail));
            }

            var invalid = await Assert.ThrowsAsync<RpcException>(() => native.GetAsync(new V1.GetRequest { Key = prefix + "a" }, new Metadata { { "token", "akv1.forged.token" } }, AuthClusterFixture.Deadline).ResponseAsync);
            Assert.Equal((StatusCode.Unauthenticated, "etcdserver: invalid auth token"), (invalid.StatusCode, invalid.Status.Detail));
        });
    }

    [Fact]
    public async Task A_KvClient_given_credentials_authenticates_itself_and_calls_both_apis_as_that_user()
    {
        await cluster.WithUserAsync("c", async (user, password, prefix, id) =>
        {
            using var client = cluster.Nodes["node3"].CreateClient(new KvClientOptions { Credentials = new KvCredentials(user, password) });
            await client.PutAsync(prefix + "a", "1");
            Assert.Equal("1", await client.GetStringAsync(prefix + "a"));
            Assert.Equal(user, new KvCredentials(user, password).ToString());

            // The same user, on the channel's other services: etcd's KV takes the token too.
            var etcd = new EtcdPb.KV.KVClient(client.Channel!);
            Assert.Single((await etcd.RangeAsync(new EtcdPb.RangeRequest { Key = ByteString.CopyFromUtf8(prefix + "a") }, deadline: AuthClusterFixture.Deadline)).Kvs);

            var outside = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync($"/other{id}", "1"));
            Assert.Equal((StatusCode.PermissionDenied, "etcdserver: permission denied"), (outside.StatusCode, outside.Status.Detail));

            using var wrong = cluster.Nodes["node3"].CreateClient(new KvClientOptions { Credentials = new KvCredentials(user, "not-" + password) });
            var refused = await Assert.ThrowsAsync<RpcException>(() => wrong.GetAsync(prefix + "a"));
            Assert.Equal((StatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password"), (refused.StatusCode, refused.Status.Detail));
        });
    }

    [Fact]
    public async Task A_node_restarted_from_its_snapshot_and_one_caught_up_from_empty_hold_the_same_auth_store()
    {
        await cluster.WithUserAsync("r", async (user, password, prefix, id) =>
        {
            await cluster.Kv("node1").PutAsync(new EtcdPb.PutRequest { Key = ByteString.CopyFromUtf8(prefix + "a"), Value = ByteString.CopyFromUtf8("1") }, await cluster.LoginAsync("node1", user, password), AuthClusterFixture.Deadline);
            await WaitForSnapshotAsync("node3");

            await cluster.Nodes["node3"].StopAsync();
            cluster.Nodes["node3"].Start();
            await cluster.Nodes["node3"].WaitHealthyAsync(ClusterFixture.StartTimeout);
            await AssertEnforcedAsync("node3", user, password, prefix);

            await using var joined = cluster.CreateJoiningNode($"auth-joiner-{id}");
            joined.Start();
            await joined.WaitHealthyAsync(ClusterFixture.StartTimeout);
            using var channel = KvClient.CreateChannel(joined.Spec.GrpcAddress);
            using var joinedClient = joined.CreateClient();
            await Eventually.TrueAsync(
                async () => (await joinedClient.StatusAsync(includeStateHash: true)).StateHash == (await cluster.Client("node1").StatusAsync(includeStateHash: true)).StateHash,
                Converge,
                () => "the node that joined from an empty folder did not reach node1's state (and auth store)");
            var joinedAuth = new EtcdPb.Auth.AuthClient(channel);
            var token = (await joinedAuth.AuthenticateAsync(new EtcdPb.AuthenticateRequest { Name = user, Password = password }, deadline: AuthClusterFixture.Deadline)).Token;
            var kv = new EtcdPb.KV.KVClient(channel);
            var read = await kv.RangeAsync(new EtcdPb.RangeRequest { Key = ByteString.CopyFromUtf8(prefix + "a") }, new Metadata { { "token", token } }, AuthClusterFixture.Deadline);
            Assert.Equal("1", read.Kvs.Single().Value.ToStringUtf8());
            var refused = await Assert.ThrowsAsync<RpcException>(() => kv.RangeAsync(new EtcdPb.RangeRequest { Key = ByteString.CopyFromUtf8("/elsewhere") }, new Metadata { { "token", token } }, AuthClusterFixture.Deadline).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            await joined.StopAsync();
        });
    }

    [Fact]
    public async Task No_password_reaches_the_log_a_snapshot_or_a_log_line()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var password = $"never-in-clear-{Guid.NewGuid():N}";
        await cluster.EnableWithUserAsync($"p{id}", password, $"prole{id}", $"/p{id}/");
        try
        {
            await cluster.Auth("node2").UserChangePasswordAsync(
                new EtcdPb.AuthUserChangePasswordRequest { Name = $"p{id}", Password = password + "-2" },
                await cluster.LoginAsync("node2", "root", cluster.RootPassword),
                AuthClusterFixture.Deadline);
            await cluster.LoginAsync("node3", $"p{id}", password + "-2");
            await WaitForSnapshotAsync("node1");
        }
        finally
        {
            await cluster.ResetAsync();
        }

        // The stream's segment files (the raw log entries), every snapshot and every other file the broker and nodes keep.
        var files = Directory.EnumerateFiles(cluster.DataRoot, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(files, f => f.EndsWith(".segment", StringComparison.Ordinal));
        Assert.Contains(files, f => f.Contains("snapshot", StringComparison.OrdinalIgnoreCase));
        var needles = new[] { password, cluster.RootPassword }.Select(Encoding.UTF8.GetBytes).ToList();
        foreach (var file in files)
        {
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(file);
            }
            catch (IOException)
            {
                continue; // a file the broker holds open and locked, or removed while we looked
            }

            Assert.False(needles.Any(n => bytes.AsSpan().IndexOf(n) >= 0), $"a password is in {file}");
        }

        Assert.DoesNotContain(cluster.Output, l => l.Text.Contains(password, StringComparison.Ordinal) || l.Text.Contains(cluster.RootPassword, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_auth_requests_get_etcd_statuses_and_no_node_crashes()
    {
        await cluster.ResetAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        var auth = cluster.Auth("node2");
        await auth.RoleAddAsync(new EtcdPb.AuthRoleAddRequest { Name = $"bad{id}" }, deadline: AuthClusterFixture.Deadline);
        await auth.UserAddAsync(new EtcdPb.AuthUserAddRequest { Name = $"bad{id}", Password = "pw" }, deadline: AuthClusterFixture.Deadline);
        await auth.UserGrantRoleAsync(new EtcdPb.AuthUserGrantRoleRequest { User = $"bad{id}", Role = $"bad{id}" }, deadline: AuthClusterFixture.Deadline);

        await Refused(StatusCode.FailedPrecondition, "etcdserver: user name not found", () => auth.UserGetAsync(new EtcdPb.AuthUserGetRequest { Name = $"nobody{id}" }, deadline: AuthClusterFixture.Deadline).ResponseAsync);
        await Refused(StatusCode.FailedPrecondition, "etcdserver: role name not found", () => auth.RoleGetAsync(new EtcdPb.AuthRoleGetRequest { Role = $"norole{id}" }, deadline: AuthClusterFixture.Deadline).ResponseAsync);
        await Refused(StatusCode.FailedPrecondition, "etcdserver: role name not found", () => auth.UserGrantRoleAsync(new EtcdPb.AuthUserGrantRoleRequest { User = $"bad{id}", Role = $"norole{id}" }, deadline: AuthClusterFixture.Deadline).ResponseAsync);
        await Refused(StatusCode.FailedPrecondition, "etcdserver: role is already granted to the user", () => auth.UserGrantRoleAsync(new EtcdPb.AuthUserGrantRoleRequest { User = $"bad{id}", Role = $"bad{id}" }, deadline: AuthClusterFixture.Deadline).ResponseAsync);
        await Refused(StatusCode.InvalidArgument, "etcdserver: user name is empty", () => auth.UserAddAsync(new EtcdPb.AuthUserAddRequest { Name = string.Empty, Password = "pw" }, deadline: AuthClusterFixture.Deadline).ResponseAsync);
        await Refused(StatusCode.InvalidArgument, "etcdserver: role name is empty", () => auth.RoleAddAsync(new EtcdPb.AuthRoleAddRequest { Name = string.Empty }, deadline: AuthClusterFixture.Deadline).ResponseAsync);
        var inverted = await Assert.ThrowsAsync<RpcException>(() => auth.RoleGrantPermissionAsync(
            new EtcdPb.AuthRoleGrantPermissionRequest { Name = $"bad{id}", Perm = new EtcdPb.AuthPb.Permission { Key = ByteString.CopyFromUtf8("/z"), RangeEnd = ByteString.CopyFromUtf8("/a") } },
            deadline: AuthClusterFixture.Deadline).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, inverted.StatusCode);
        Assert.Contains("range", inverted.Status.Detail, StringComparison.OrdinalIgnoreCase);

        // Without root, auth cannot be turned on.
        await auth.UserDeleteAsync(new EtcdPb.AuthUserDeleteRequest { Name = "root" }, deadline: AuthClusterFixture.Deadline);
        await Refused(StatusCode.FailedPrecondition, "etcdserver: root user does not exist", () => auth.AuthEnableAsync(new EtcdPb.AuthEnableRequest(), deadline: AuthClusterFixture.Deadline).ResponseAsync);
        Assert.False((await cluster.Auth("node3").AuthStatusAsync(new EtcdPb.AuthStatusRequest(), deadline: AuthClusterFixture.Deadline)).Enabled);

        await cluster.ResetAsync();
        Assert.All(cluster.Nodes.Values, n => Assert.True(n.IsRunning, $"{n.Name} exited"));
        await cluster.WaitForConvergenceAsync(Converge);
    }

    private static EtcdPb.WatchRequest Create(string key, bool prefix) => new()
    {
        CreateRequest = new EtcdPb.WatchCreateRequest
        {
            Key = ByteString.CopyFromUtf8(key),
            RangeEnd = prefix ? ByteString.CopyFrom(Node.StateMachine.KeyRange.PrefixEnd(Encoding.UTF8.GetBytes(key))) : ByteString.Empty,
        },
    };

    private static async Task Refused(StatusCode code, string message, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal((code, message), (error.StatusCode, error.Status.Detail));
    }

    /// <summary>Auth on, on <paramref name="node"/>: the user reads its own prefix, and a call with no token is refused.</summary>
    private async Task AssertEnforcedAsync(string node, string user, string password, string prefix)
    {
        var kv = cluster.Kv(node);
        var read = await kv.RangeAsync(new EtcdPb.RangeRequest { Key = ByteString.CopyFromUtf8(prefix + "a") }, await cluster.LoginAsync(node, user, password), AuthClusterFixture.Deadline);
        Assert.Equal("1", read.Kvs.Single().Value.ToStringUtf8());
        await Refused(StatusCode.InvalidArgument, "etcdserver: user name is empty", () => kv.RangeAsync(new EtcdPb.RangeRequest { Key = ByteString.CopyFromUtf8(prefix + "a") }, deadline: AuthClusterFixture.Deadline).ResponseAsync);
    }

    /// <summary>Waits until <paramref name="node"/> has written a snapshot of everything it has applied now.</summary>
    private async Task WaitForSnapshotAsync(string node)
    {
        var applied = (await cluster.Client(node).StatusAsync()).AppliedLogOffset;
        await Eventually.TrueAsync(
            async () => (await cluster.Client(node).StatusAsync()).LastSnapshot is { } snapshot && snapshot.AppliedLogOffset >= applied,
            Converge,
            () => $"{node} wrote no snapshot at or past offset {applied}");
    }
}
