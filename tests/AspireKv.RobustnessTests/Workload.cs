using System.Diagnostics;
using AspireKv.Client;
using AspireKv.Testing;
using AspireKv.V1;
using Grpc.Core;

namespace AspireKv.RobustnessTests;

/// <summary>
/// Clients on every node doing Puts, compare-and-sets, Deletes and linearizable Gets on a few keys,
/// each with a deadline, recording every operation with its call and return times and outcome.
/// Every value written is unique, so a read names the write it saw.
/// </summary>
public sealed class Workload(ClusterFixture cluster, string prefix, int keys, int clientsPerNode, TimeSpan deadline)
{
    private readonly string[] _keys = [.. Enumerable.Range(0, keys).Select(i => $"{prefix}/k{i}")];

    public History History { get; } = new();

    public IReadOnlyList<string> Keys => _keys;

    public Task RunAsync(CancellationToken stop)
    {
        var clients = new List<Task>();
        var id = 0;
        foreach (var node in cluster.Nodes.Keys)
        {
            for (var i = 0; i < clientsPerNode; i++)
            {
                var client = id++;
                clients.Add(Task.Run(() => ClientAsync(client, node, stop)));
            }
        }

        return Task.WhenAll(clients);
    }

    /// <summary>A linearizable read of every key on every node, once the faults are over: the end of the history.</summary>
    public async Task ReadEverythingAsync()
    {
        foreach (var node in cluster.Nodes.Keys)
        {
            foreach (var key in _keys)
            {
                var invoked = Stopwatch.GetTimestamp();
                var got = await cluster.Client(node).GetAsync(key, timeout: TimeSpan.FromSeconds(30));
                History.Add(new Operation(-1, node, OperationKind.Get, key, invoked, Stopwatch.GetTimestamp(), Outcome.Ok)
                {
                    Found = got.Found,
                    ReadValue = got.Found ? got.Entry.Value.ToStringUtf8() : null,
                    ModRevision = got.Found ? got.Entry.ModRevision : 0,
                    Deadline = TimeSpan.FromSeconds(30),
                });
            }
        }
    }

    private async Task ClientAsync(int client, string node, CancellationToken stop)
    {
        var random = new Random(client * 7919);
        var lastSeen = new Dictionary<string, long>();
        var kv = cluster.Client(node);
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var key = _keys[random.Next(_keys.Length)];
            var value = $"c{client}-{n}";
            var roll = random.Next(100);
            var kind = roll < 40 ? OperationKind.Put : roll < 55 ? OperationKind.CompareAndSet : roll < 90 ? OperationKind.Get : OperationKind.Delete;
            var expected = lastSeen.GetValueOrDefault(key);
            var invoked = Stopwatch.GetTimestamp();
            Operation operation;
            try
            {
                operation = kind switch
                {
                    OperationKind.Put => await PutAsync(kv, key, value, null),
                    OperationKind.CompareAndSet => await PutAsync(kv, key, value, expected),
                    OperationKind.Delete => await DeleteAsync(kv, key),
                    _ => await GetAsync(kv, key),
                };
            }
            catch (RpcException ex)
            {
                // A call refused before anything was done, or one that never reached the node, had no
                // effect; any other failed write may or may not have been applied.
                var certain = kind == OperationKind.Get || KvMetadata.WasRefused(ex) || KvClient.NeverReachedNode(ex);
                operation = new Operation(0, node, kind, key, 0, 0, certain ? Outcome.Failed : Outcome.Unknown);
            }

            var returned = operation.Outcome == Outcome.Unknown ? long.MaxValue : Stopwatch.GetTimestamp();
            History.Add(operation with
            {
                Client = client,
                Node = node,
                Kind = kind,
                Key = key,
                Invoked = invoked,
                Returned = returned,
                Value = kind is OperationKind.Put or OperationKind.CompareAndSet ? value : null,
                ExpectedModRevision = kind == OperationKind.CompareAndSet ? expected : 0,
                Deadline = deadline,
                Elapsed = Stopwatch.GetElapsedTime(invoked),
            });

            if (operation is { Outcome: Outcome.Ok, Kind: OperationKind.Get })
            {
                lastSeen[key] = operation.Found ? operation.ModRevision : 0;
            }

            // A client that was turned away waits a little before the next try, as real clients back off.
            await Task.Delay(operation.Outcome == Outcome.Ok ? random.Next(0, 3) : random.Next(20, 60), CancellationToken.None);
        }
    }

    private async Task<Operation> PutAsync(KvClient kv, string key, string value, long? expected)
    {
        try
        {
            var put = await kv.PutAsync(key, value, expected, deadline);
            return Completed() with { Revision = put.Revision, Matched = true };
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            var current = long.Parse(ex.Trailers.GetValue(KvMetadata.CurrentModRevisionTrailer)!, System.Globalization.CultureInfo.InvariantCulture);
            return Completed() with { Matched = false, ModRevision = current };
        }
    }

    private async Task<Operation> DeleteAsync(KvClient kv, string key)
    {
        var deleted = await kv.DeleteAsync(key, timeout: deadline);
        return Completed() with { Deleted = deleted.Deleted, Revision = deleted.Deleted > 0 ? deleted.Revision : 0 };
    }

    private async Task<Operation> GetAsync(KvClient kv, string key)
    {
        var got = await kv.GetAsync(key, Consistency.Linearizable, deadline);
        return Completed() with { Found = got.Found, ReadValue = got.Found ? got.Entry.Value.ToStringUtf8() : null, ModRevision = got.Found ? got.Entry.ModRevision : 0 };
    }

    private static Operation Completed() => new(0, string.Empty, OperationKind.Get, string.Empty, 0, 0, Outcome.Ok);
}
