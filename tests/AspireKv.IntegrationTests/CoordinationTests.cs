using System.Collections.Concurrent;
using System.Globalization;
using AspireKv.Client;
using AspireKv.Testing;
using AspireKv.V1;
using Google.Protobuf;
using Grpc.Core;

namespace AspireKv.IntegrationTests;

/// <summary>Watches, transactions and leases on three real nodes and a real broker: what people coordinate with.</summary>
[Collection(ClusterCollection.Name)]
public sealed class CoordinationTests(ClusterFixture cluster)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Watch_on_node3_sees_exactly_the_writes_made_through_node1_and_node2_in_order_across_faults()
    {
        await cluster.WaitForConvergenceAsync(Patience);
        var prefix = $"watched/{Guid.NewGuid():N}";
        var start = (await cluster.Client("node1").PutAsync($"{prefix}-before", "not watched")).Revision + 1;
        var seen = new ConcurrentQueue<WatchResponse>();
        using var stopWatching = new CancellationTokenSource();
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var response in cluster.Client("node3").WatchAsync(new WatchRequest { Key = prefix + "/", Prefix = true, StartRevision = start }, stopWatching.Token))
                {
                    seen.Enqueue(response);
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
            {
            }
        });

        await using (var writers = new Writers(cluster, ["node1", "node2"], prefix, perNode: 2, timeout: TimeSpan.FromSeconds(5)))
        {
            await Eventually.TrueAsync(() => writers.Acknowledged.Count >= 100, Patience);

            // kill -9 of node2, and back.
            await cluster.Nodes["node2"].KillAsync();
            await Eventually.TrueAsync(() => writers.Acknowledged.Count >= 200, Patience);
            cluster.Nodes["node2"].Start();
            await cluster.Nodes["node2"].WaitHealthyAsync(ClusterFixture.StartTimeout);

            // A broker restart: the watch on node3 stays open and resumes when the log is back.
            await cluster.Broker.StopAsync();
            await cluster.Broker.StartAsync(ClusterFixture.StartTimeout);
            var atRestart = writers.Acknowledged.Count;
            await Eventually.TrueAsync(() => writers.Acknowledged.Count >= atRestart + 100, Patience, () => cluster.RecentLog());
            await writers.StopAsync();

            var last = (await cluster.Client("node1").PutAsync($"{prefix}/last", "the end")).Revision;
            await Eventually.TrueAsync(() => seen.Any(r => r.Revision >= last), Patience, () => $"the watch saw up to revision {seen.LastOrDefault()?.Revision}");
            await stopWatching.CancelAsync();
            await watching;

            var responses = seen.ToList();
            Assert.Equal(responses.Select(r => r.Revision).Order(), responses.Select(r => r.Revision));
            Assert.Equal(responses.Count, responses.Select(r => r.Revision).Distinct().Count());
            Assert.All(responses, r => Assert.True(r.Revision >= start, $"revision {r.Revision} is before the watch's start {start}"));
            var events = responses.SelectMany(r => r.Events.Select(e => (r.Revision, Event: e))).ToList();
            Assert.All(events, e => Assert.Equal(e.Revision, e.Event.Entry.ModRevision));
            Assert.Equal(events.Count, events.Select(e => (e.Event.Entry.Key, Value: e.Event.Entry.Value.ToStringUtf8())).Distinct().Count());

            // Every acknowledged write is there, at its revision; nothing else but writes whose outcome was unknown.
            var byRevision = events.ToDictionary(e => e.Revision, e => e.Event);
            foreach (var write in writers.Acknowledged)
            {
                Assert.True(byRevision.TryGetValue(write.Revision, out var change), $"the watch missed {write.Key}={write.Value} at revision {write.Revision}");
                Assert.Equal(write.Key, change.Entry.Key);
                Assert.Equal(write.Value, change.Entry.Value.ToStringUtf8());
            }

            var acknowledged = writers.Acknowledged.Select(w => w.Revision).ToHashSet();
            var unexplained = events.Where(e => !acknowledged.Contains(e.Revision) && e.Event.Entry.Key != $"{prefix}/last").ToList();
            Assert.True(unexplained.Count <= writers.Failures.Count, $"{unexplained.Count} events match no write: {string.Join(", ", unexplained.Take(5).Select(e => e.Event.Entry.Key))}");
        }

        await cluster.WaitForConvergenceAsync(Patience);
    }

    [Fact]
    public async Task Watch_from_a_compacted_revision_fails_and_says_the_compact_revision()
    {
        var key = $"compacted/{Guid.NewGuid():N}";
        var first = await cluster.Client("node1").PutAsync(key, "1");
        await cluster.Client("node1").PutAsync(key, "2");
        var third = await cluster.Client("node1").PutAsync(key, "3");

        var compacted = await cluster.Client("node2").CompactAsync(third.Revision);
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in cluster.Client("node3").WatchAsync(new WatchRequest { Key = key, StartRevision = first.Revision }))
            {
            }
        });

        Assert.Equal(third.Revision, compacted.CompactRevision);
        Assert.Equal(StatusCode.OutOfRange, ex.StatusCode);
        Assert.Contains("compacted", ex.Status.Detail);
        Assert.Equal(third.Revision.ToString(CultureInfo.InvariantCulture), ex.Trailers.GetValue(KvMetadata.CompactRevisionTrailer));
        var get = await Assert.ThrowsAsync<RpcException>(() => cluster.Client("node1").GetAsync(new GetRequest { Key = key, Revision = first.Revision }));
        Assert.Equal(StatusCode.OutOfRange, get.StatusCode);

        // From the compact revision on, the history still serves.
        var history = await cluster.Client("node3").HistoryAsync(key);
        Assert.Equal(["3"], history.Events.Select(e => e.Entry.Value.ToStringUtf8()));
    }

    [Fact]
    public async Task Watcher_that_does_not_read_is_cancelled_and_the_node_does_not_buffer_for_it()
    {
        var prefix = $"slow/{Guid.NewGuid():N}/";
        var node = cluster.Nodes["node1"];
        var rssBefore = Rss(node.Process!.Pid);
        var channel = KvClient.CreateChannel(node.Spec.GrpcAddress);
        var client = new KeyValue.KeyValueClient(channel);
        using var call = client.Watch(new WatchRequest { Key = prefix, Prefix = true });
        await Task.Delay(500); // the watch is open

        // Far more revisions than a watcher may have waiting, none of them read.
        const int Writes = 6000;
        var value = ByteString.CopyFrom(new byte[1024]);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) is var i && i < Writes)
            {
                await cluster.Client("node2").PutAsync(new PutRequest { Key = $"{prefix}{i % 100}", Value = value });
            }
        })));

        var received = 0;
        var ended = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
                received++;
            }
        });

        Assert.Equal(StatusCode.ResourceExhausted, ended.StatusCode);
        Assert.Contains("behind", ended.Status.Detail);
        Assert.True(received < Writes, $"the slow watcher got all {received} revisions: the node buffered them all for it");
        Assert.True(Rss(node.Process!.Pid) < rssBefore + (200L << 20), "node1 grew by more than 200 MiB for one slow watcher");
        channel.Dispose();
    }

    [Fact]
    public async Task Two_clients_race_for_a_lock_one_wins_and_the_other_takes_it_once_the_winners_lease_expires()
    {
        var key = $"locks/race/{Guid.NewGuid():N}";
        var clients = new[] { cluster.Client("node1"), cluster.Client("node2") };
        var leases = await Task.WhenAll(clients.Select(c => c.LeaseGrantAsync(TimeSpan.FromSeconds(3))));

        var attempts = await Task.WhenAll(clients.Select((c, i) => c.TxnAsync(CreateIfAbsent(key, $"client{i}", leases[i].Id))));

        Assert.Single(attempts, a => a.Succeeded);
        var winner = Array.FindIndex(attempts, a => a.Succeeded);
        var loser = 1 - winner;

        // The loser keeps its lease alive while it waits; the winner goes away without doing so,
        // and after the TTL the lock is gone everywhere.
        using var waiting = new CancellationTokenSource();
        var keepAlive = Task.Run(async () =>
        {
            while (!waiting.IsCancellationRequested)
            {
                await clients[loser].LeaseKeepAliveAsync(leases[loser].Id);
                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            }
        });
        foreach (var node in cluster.Nodes.Keys)
        {
            await Eventually.TrueAsync(async () => !(await cluster.Client(node).GetAsync(key)).Found, TimeSpan.FromSeconds(30), () => $"{key} is still on {node}");
        }

        await waiting.CancelAsync();
        await keepAlive;
        var retry = await clients[loser].TxnAsync(CreateIfAbsent(key, $"client{loser}", leases[loser].Id));
        Assert.True(retry.Succeeded);
        Assert.Equal($"client{loser}", await cluster.Client("node3").GetStringAsync(key));
        await clients[loser].LeaseRevokeAsync(leases[loser].Id);
    }

    [Fact]
    public async Task Lock_recipe_hands_the_lock_over_in_turn()
    {
        var name = $"recipe/{Guid.NewGuid():N}";
        var first = await cluster.Client("node1").LockAsync(name, TimeSpan.FromSeconds(5));

        var second = cluster.Client("node3").LockAsync(name, TimeSpan.FromSeconds(5));
        await Task.Delay(TimeSpan.FromSeconds(7)); // longer than the TTL: the first holder keeps its lease alive
        Assert.False(second.IsCompleted, "the second client took a lock that was held");
        Assert.True((await cluster.Client("node2").GetAsync(first.Key)).Found);

        await first.DisposeAsync();
        await using var taken = await second.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(taken.Revision > first.Revision);
        Assert.Equal(taken.Lease, (await cluster.Client("node2").GetAsync(taken.Key)).Entry.Lease);
    }

    [Fact]
    public async Task Watcher_never_sees_half_a_transaction()
    {
        var prefix = $"atomic/{Guid.NewGuid():N}/";
        using var stop = new CancellationTokenSource();
        var seen = new ConcurrentQueue<WatchResponse>();
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var response in cluster.Client("node2").WatchAsync(new WatchRequest { Key = prefix, Prefix = true }, stop.Token))
                {
                    seen.Enqueue(response);
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
            {
            }
        });
        await Task.Delay(500);

        for (var i = 0; i < 100; i++)
        {
            var both = new TxnRequest
            {
                Success =
                {
                    new RequestOp { Put = new PutRequest { Key = prefix + "a", Value = ByteString.CopyFromUtf8($"{i}") } },
                    new RequestOp { Put = new PutRequest { Key = prefix + "b", Value = ByteString.CopyFromUtf8($"{i}") } },
                },
            };
            await cluster.Client(i % 2 == 0 ? "node1" : "node3").TxnAsync(both);
        }

        await Eventually.TrueAsync(() => seen.Count >= 100, Patience);
        await stop.CancelAsync();
        await watching;

        Assert.All(seen, response =>
        {
            Assert.Equal([prefix + "a", prefix + "b"], response.Events.Select(e => e.Entry.Key).Order(StringComparer.Ordinal));
            Assert.Single(response.Events.Select(e => e.Entry.Value.ToStringUtf8()).Distinct());
        });
    }

    private static TxnRequest CreateIfAbsent(string key, string value, long lease) => new()
    {
        Compares = { new Compare { Key = key, Result = Compare.Types.Result.Equal, CreateRevision = 0 } },
        Success = { new RequestOp { Put = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(value), Lease = lease } } },
    };

    /// <summary>The resident set size of a process, from /proc.</summary>
    private static long Rss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
