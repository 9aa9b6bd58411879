using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Testing;
using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace AspireKv.EndToEndTests;

/// <summary>The AppHost's topology with its broker as a cluster of three (<c>--brokers 3</c>), started once for the class.</summary>
public sealed class BrokerClusterFixture : IAsyncLifetime
{
    public TestingApplication App { get; private set; } = null!;

    public RabbitMqResource Messaging => App.Application.GetResource<RabbitMqResource>("messaging");

    public async Task InitializeAsync() =>
        App = await DistributedApplicationTestingBuilder.StartAsync<Program>(
            ["--replicas", "3", "--brokers", "3"],
            new Dictionary<string, string?> { ["Dashboard:Enabled"] = "true", ["Dashboard:Port"] = "0" });

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
        // As declared (the Replication page's test adds node4 after them, and removes it).
        Assert.Equal(["messaging", "messaging-1", "messaging-2", "messaging-3", "node1", "node2", "node3"], app.Resources.Select(r => r.Name).Take(7));
        Assert.All(fixture.Messaging.Brokers, b => Assert.Same(fixture.Messaging, b.Cluster));
        var connectionString = ((NodeResource)app.GetResource("node1")).Environment["ConnectionStrings__messaging"]!;
        Assert.Equal(fixture.Messaging.Brokers.Select(b => b.ConnectionString), connectionString.Split(','));

        // Each broker shows its own endpoints; the cluster shows none as if it were one broker.
        Assert.Empty(fixture.Messaging.Endpoints);
        Assert.All(fixture.Messaging.Brokers, b => Assert.Equal(new Uri(b.ConnectionString).Port, b.Endpoints["amqp"].Port));
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
    public async Task Replication_page_shows_the_stream_the_brokers_and_their_leader_and_each_nodes_lag_live()
    {
        const float patience = 60_000;
        await EnsureWholeAsync();
        var leader = await LeaderAsync();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1000 } });
        page.SetDefaultTimeout(patience);
        Assertions.SetDefaultExpectTimeout(patience); // the page polls; a broker's graceful stop takes up to its 30 s grace
        await page.GotoAsync(fixture.App.Application.Dashboard!.LoginUrl.ToString());
        await page.Locator("nav a[data-page='replication']").ClickAsync();

        // The stream, and each broker of the cluster with the one that leads the stream.
        await Assertions.Expect(page.Locator("#last-offset")).Not.ToBeEmptyAsync();
        await Assertions.Expect(page.Locator("#stream-size")).ToContainTextAsync("B");
        foreach (var broker in fixture.Messaging.Brokers)
        {
            await Assertions.Expect(page.Locator($"tr[data-broker='{broker.Name}'] td.state")).ToContainTextAsync("Running");
        }

        await Assertions.Expect(page.Locator($"tr[data-broker='{leader.Name}'] td.role")).ToHaveTextAsync("leader");
        await Assertions.Expect(page.Locator("#brokers td.role", new() { HasTextString = "replica" })).ToHaveCountAsync(2);

        // Every node with its applied offset, its lag behind the stream, its broker and a snapshot.
        foreach (var node in Nodes)
        {
            await Assertions.Expect(page.Locator($"tr[data-node='{node}'] td.applied-offset")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9]+$"));
            await Assertions.Expect(page.Locator($"tr[data-node='{node}'] td.lag")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9]+$"));
            await Assertions.Expect(page.Locator($"tr[data-node='{node}'] td.snapshot")).ToContainTextAsync("offset", new() { Timeout = patience });
        }

        // Live: a paused node falls behind the stream while the others write; resumed, it catches up.
        await page.Locator("tr[data-node='node2'] button[data-action='pause']").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-node='node2'] td.state")).ToHaveTextAsync("Paused");
        for (var i = 0; i < 20; i++)
        {
            await fixture.App.CreateKvClient("node1").PutAsync($"replication-page/{i}", "x");
        }

        await Assertions.Expect(page.Locator("tr[data-node='node1'] td.lag")).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("tr[data-node='node2'] td.lag")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[1-9][0-9]*$"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName, "dashboard-replication.png"), FullPage = true });
        await page.Locator("tr[data-node='node2'] button[data-action='resume']").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-node='node2'] td.state")).ToHaveTextAsync("Running");
        await Assertions.Expect(page.Locator("tr[data-node='node2'] td.lag")).ToHaveTextAsync("0");

        // A node added from the page joins the running topology and catches up.
        await page.Locator("#add-node").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-node='node4'] td.state")).ToHaveTextAsync("Running");
        await Assertions.Expect(page.Locator("tr[data-node='node4'] td.lag")).ToHaveTextAsync("0");
        Assert.Equal("x", await fixture.App.CreateKvClient("node4").GetStringAsync("replication-page/19"));

        // And leaves it from the page: gone from the nodes and from the application's resources.
        await page.Locator("tr[data-node='node4'] button[data-action='remove']").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-node='node4']")).ToHaveCountAsync(0);
        Assert.DoesNotContain(fixture.App.Resources, r => r.Name == "node4");

        // A broker stopped from the page shows as such, and comes back.
        var follower = fixture.Messaging.Brokers.First(b => b != leader);
        await page.Locator($"tr[data-broker='{follower.Name}'] button[data-action='stop']").ClickAsync();
        await Assertions.Expect(page.Locator($"tr[data-broker='{follower.Name}'] td.state")).ToHaveTextAsync("Exited");
        await page.Locator($"tr[data-broker='{follower.Name}'] button[data-action='start']").ClickAsync();
        await Assertions.Expect(page.Locator($"tr[data-broker='{follower.Name}'] td.state")).ToHaveTextAsync("Running");
    }

    private async Task<BrokerResource> LeaderAsync()
    {
        await EnsureWholeAsync();
        BrokerResource? leader = null;
        await Eventually.TrueAsync(async () => (leader = await fixture.App.GetStreamLeaderAsync()) is not null, Patience);
        return leader!;
    }

    /// <summary>Every broker running (a failed test may have left one down) and every node taking writes.</summary>
    private async Task EnsureWholeAsync()
    {
        await Eventually.TrueAsync(() => fixture.Messaging.Brokers.All(b => b.State is not (ResourceState.Stopping or ResourceState.Starting)), Patience);
        foreach (var broker in fixture.Messaging.Brokers.Where(b => b.State != ResourceState.Running))
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
    private async Task RunFaultUnderLoadAsync(string description, Func<Task> fault, BrokerResource victim)
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
            Assert.NotEqual(ResourceState.Running, victim.State);
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
