using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AspireKv.EndToEndTests;

/// <summary>The AppHost's topology with its broker as a cluster of three (<c>--brokers 3</c>), started once for the class.</summary>
public sealed class BrokerClusterFixture : IAsyncLifetime
{
    public AspireKvApp App { get; private set; } = null!;

    public RabbitMQClusterResource Messaging => (RabbitMQClusterResource)App.GetResource("messaging");

    public async Task InitializeAsync() => App = await AspireKvApp.StartAsync(["--Replicas=3", "--Brokers=3"]);

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}

/// <summary>
/// Brokers of a three-broker cluster are killed and stopped under client load. No acknowledged
/// write may be lost, writes must resume on every node, and the replicas must converge. Each test
/// leaves the cluster whole again.
/// </summary>
public sealed class BrokerClusterFailoverTests(BrokerClusterFixture fixture, ITestOutputHelper output) : IClassFixture<BrokerClusterFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private static readonly string[] Nodes = ["node1", "node2", "node3"];

    [Fact]
    public void Cluster_runs_three_brokers_as_children_of_messaging_and_gives_the_nodes_all_three()
    {
        var app = fixture.App;
        Assert.Equal(["messaging-1", "messaging-2", "messaging-3"], fixture.Messaging.Brokers.Select(b => b.Name));
        Assert.All(fixture.Messaging.Brokers, b => Assert.Same(fixture.Messaging, b.Cluster));
        Assert.All(fixture.Messaging.Brokers, b => Assert.Contains(b.Annotations.OfType<ResourceRelationshipAnnotation>(), a => a.Type == "Parent" && a.Resource == fixture.Messaging));
        var environment = app.EnvironmentOf("node1");
        Assert.Equal(fixture.Messaging.Brokers.Select(b => b.Layout.ConnectionString), environment["ConnectionStrings__messaging"].Split(','));

        // Each broker has its own endpoints; the cluster has none of its own, as it is not one broker.
        Assert.Empty(fixture.Messaging.Annotations.OfType<EndpointAnnotation>());
        Assert.All(fixture.Messaging.Brokers, b => Assert.Equal(b.Layout.AmqpPort, app.GetEndpoint(b.Name, "amqp").Port));
        Assert.Equal(3, fixture.Messaging.Brokers.Select(b => b.Layout.NodeName).Distinct().Count());
    }

    [Fact]
    public async Task Killing_the_broker_that_leads_the_stream_loses_no_acknowledged_write_and_writes_resume_on_every_node()
    {
        var leader = await LeaderAsync();
        await RunFaultUnderLoadAsync($"kill -9 of the stream's leader {leader.Name}", () => fixture.App.KillAsync(leader.Name), leader);
    }

    [Fact]
    public async Task Killing_a_broker_that_does_not_lead_lets_writes_go_on()
    {
        var leader = await LeaderAsync();
        var follower = fixture.Messaging.Brokers.First(b => b != leader);
        await RunFaultUnderLoadAsync($"kill -9 of {follower.Name}, which does not lead", () => fixture.App.KillAsync(follower.Name), follower);
    }

    [Fact]
    public async Task With_two_of_three_brokers_stopped_writes_fail_unavailable_serializable_reads_go_on_and_all_recovers()
    {
        var app = fixture.App;
        await EnsureWholeAsync();
        var before = await app.CreateKvClient("node1").PutAsync($"minority/{Guid.NewGuid():N}", "before");
        foreach (var node in Nodes)
        {
            await app.CreateKvClient(node).GetAsync("sync");
        }

        var stopped = fixture.Messaging.Brokers.Take(2).ToList();
        await Task.WhenAll(stopped.Select(b => app.StopAsync(b.Name)));
        try
        {
            foreach (var node in Nodes)
            {
                var client = app.CreateKvClient(node);
                var deadline = TimeSpan.FromSeconds(10);
                var started = Stopwatch.GetTimestamp();
                var write = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync($"minority/{node}", "x", timeout: deadline));
                output.WriteLine($"{node}: a write failed after {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s with {write.StatusCode}: {write.Status.Detail}");
                Assert.Equal(StatusCode.Unavailable, write.StatusCode);

                var read = await client.GetAsync(new GetRequest { Key = "sync", Consistency = Consistency.Serializable });
                Assert.True(read.Revision >= before.Revision, $"{node} served a serializable read at revision {read.Revision}, before {before.Revision}");
            }
        }
        finally
        {
            await Task.WhenAll(stopped.Select(b => app.StartAsync(b.Name)));
        }

        foreach (var node in Nodes)
        {
            await Eventually.SucceedsAsync<PutResponse, RpcException>(
                () => app.CreateKvClient(node).PutAsync($"minority/{node}/after", "y", timeout: TimeSpan.FromSeconds(5)), Patience, () => app.RecentLogs());
        }

        await WaitForConvergenceAsync();
    }

    [Fact]
    public async Task Replication_view_names_the_broker_that_leads_the_stream_and_a_paused_node_falls_behind_and_catches_up()
    {
        await EnsureWholeAsync();
        var leader = await LeaderAsync();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        async Task<System.Text.Json.JsonElement> ViewAsync() =>
            System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri(fixture.App.GetEndpoint("node1", "http"), "/api/replication"))).RootElement.Clone();
        long Lag(System.Text.Json.JsonElement view, string node) =>
            view.GetProperty("nodes").EnumerateArray().First(n => n.GetProperty("name").GetString() == node).GetProperty("lag").GetInt64();

        // The management API fills in a stream's members a moment after a broker comes back (an earlier test restarts them).
        var view = await Eventually.ValueAsync(
            ViewAsync,
            v => v.GetProperty("stream").TryGetProperty("leader", out _) && v.GetProperty("stream").TryGetProperty("members", out var members) && members.GetArrayLength() == 3,
            Patience,
            v => v.ToString());
        Assert.Equal(leader.Layout.NodeName, view.GetProperty("stream").GetProperty("leader").GetString());
        Assert.Equal(fixture.Messaging.Brokers.Select(b => b.Layout.NodeName).Order(), view.GetProperty("stream").GetProperty("members").EnumerateArray().Select(m => m.GetString()).Order());

        // Live: a paused node falls behind the stream while the others write; resumed, it catches up.
        await fixture.App.PauseAsync("node2");
        Assert.Equal("Paused", fixture.App.State("node2"));
        try
        {
            for (var i = 0; i < 20; i++)
            {
                await fixture.App.CreateKvClient("node1").PutAsync($"replication-view/{i}", "x");
            }

            await Eventually.ValueAsync(ViewAsync, v => Lag(v, "node1") == 0 && Lag(v, "node2") > 0, Patience, v => v.ToString());
        }
        finally
        {
            await fixture.App.ResumeAsync("node2");
        }

        Assert.Equal("Running", fixture.App.State("node2"));
        await Eventually.ValueAsync(ViewAsync, v => Lag(v, "node2") == 0, Patience, v => v.ToString());
    }

    private async Task<RabbitMQServerProcessResource> LeaderAsync()
    {
        await EnsureWholeAsync();
        RabbitMQServerProcessResource? leader = null;
        await Eventually.TrueAsync(async () => (leader = await fixture.App.GetStreamLeaderAsync(fixture.Messaging)) is not null, Patience);
        return leader!;
    }

    /// <summary>Every broker running (a failed test may have left one down) and every node taking writes.</summary>
    private async Task EnsureWholeAsync()
    {
        await Eventually.TrueAsync(() => fixture.Messaging.Brokers.All(b => fixture.App.State(b.Name) is not ("Stopping" or "Starting")), Patience);
        foreach (var broker in fixture.Messaging.Brokers.Where(b => fixture.App.State(b.Name) != "Running"))
        {
            await fixture.App.StartAsync(broker.Name);
        }

        foreach (var node in Nodes)
        {
            await Eventually.SucceedsAsync<PutResponse, RpcException>(
                () => fixture.App.CreateKvClient(node).PutAsync("whole", node, timeout: TimeSpan.FromSeconds(5)), Patience, () => fixture.App.RecentLogs());
        }
    }

    /// <summary>
    /// Three writers (one per node) put unique keys while <paramref name="fault"/> strikes; writes
    /// must then succeed on every node. The broker comes back, the replicas converge, and every
    /// acknowledged write is on every node with its value.
    /// </summary>
    private async Task RunFaultUnderLoadAsync(string description, Func<Task> fault, RabbitMQServerProcessResource victim)
    {
        var app = fixture.App;
        var acknowledged = new ConcurrentDictionary<string, long>();
        var lastAck = Nodes.ToDictionary(n => n, _ => new StrongBox<long>(0));
        var longestGap = new ConcurrentDictionary<string, TimeSpan>();
        long faultAt = 0;
        using var stop = new CancellationTokenSource();
        var run = Guid.NewGuid().ToString("N")[..8];

        async Task WriteAsync(string node)
        {
            var client = app.CreateKvClient(node);
            var previous = Stopwatch.GetTimestamp();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"failover/{run}/{node}/{i}";
                try
                {
                    var put = await client.PutAsync(key, key, timeout: TimeSpan.FromSeconds(2));
                    acknowledged[key] = put.Revision;
                    var now = Stopwatch.GetTimestamp();
                    Interlocked.Exchange(ref lastAck[node].Value, now);
                    var gap = Stopwatch.GetElapsedTime(previous, now);
                    if (Interlocked.Read(ref faultAt) != 0)
                    {
                        longestGap.AddOrUpdate(node, gap, (_, old) => gap > old ? gap : old);
                    }

                    previous = now;
                }
                catch (RpcException)
                {
                    // Unknown or refused: neither counts as acknowledged.
                    await Task.Delay(50);
                }
            }
        }

        var writers = Nodes.Select(n => Task.Run(() => WriteAsync(n))).ToList();
        await Eventually.TrueAsync(() => acknowledged.Count >= 50, Patience, () => app.RecentLogs());

        Interlocked.Exchange(ref faultAt, Stopwatch.GetTimestamp());
        await fault();
        var after = Stopwatch.GetTimestamp();
        try
        {
            // Writes resume on every node while the broker is still down.
            await Eventually.TrueAsync(() => Nodes.All(n => Interlocked.Read(ref lastAck[n].Value) > after), Patience, () => app.RecentLogs());
            Assert.NotEqual("Running", fixture.App.State(victim.Name));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            await app.StartAsync(victim.Name);
        }

        output.WriteLine($"{description}: {acknowledged.Count} writes acknowledged; the longest wait between two acknowledged writes after the fault, per node: " +
            string.Join(", ", Nodes.Select(n => $"{n} {longestGap.GetValueOrDefault(n).TotalSeconds:F2} s")));

        await WaitForConvergenceAsync();
        foreach (var node in Nodes)
        {
            var client = app.CreateKvClient(node);
            foreach (var (key, revision) in acknowledged)
            {
                var got = await client.GetAsync(key, Consistency.Serializable);
                Assert.True(got.Found, $"{key}, acknowledged at revision {revision}, is missing on {node}");
                Assert.Equal(revision, got.Entry.ModRevision);
            }
        }
    }

    /// <summary>Every node at the same applied revision with the same state hash, after a barrier on each.</summary>
    private async Task WaitForConvergenceAsync()
    {
        var report = string.Empty;
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await Task.WhenAll(Nodes.Select(n => fixture.App.CreateKvClient(n).GetAsync("convergence-probe", timeout: TimeSpan.FromSeconds(5))));
                    var statuses = await Task.WhenAll(Nodes.Select(n => fixture.App.CreateKvClient(n).StatusAsync(includeStateHash: true)));
                    report = string.Join("; ", statuses.Select((s, i) => $"{Nodes[i]}: revision {s.AppliedRevision}, hash {s.StateHash[..12]}"));
                    return statuses.Select(s => (s.AppliedRevision, s.StateHash)).Distinct().Count() == 1;
                }
                catch (RpcException ex)
                {
                    report = ex.Message;
                    return false;
                }
            },
            Patience,
            () => $"{report}\n{fixture.App.RecentLogs()}");
    }
}
