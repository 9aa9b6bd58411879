using System.Diagnostics;
using AspireKv.Client;
using AspireKv.Testing;
using AspireKv.V1;
using Google.Protobuf;
using Grpc.Core;

namespace AspireKv.RobustnessTests;

/// <summary>
/// Clients on every node doing Puts, compare-and-sets, Deletes and linearizable Gets on a few keys,
/// transactions over two keys, and Puts with a lease that the client later revokes; each call with
/// a deadline, recording every operation with its call and return times and outcome. Every value
/// written is unique, so a read names the write it saw. A transaction is recorded as its part on
/// each key, and a revocation as its effect on every key.
/// </summary>
public sealed class Workload(ClusterFixture cluster, string prefix, int keys, int clientsPerNode, TimeSpan deadline)
{
    /// <summary>Longer than any run, so that leases end only when they are revoked.</summary>
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromMinutes(15);

    private readonly string[] _keys = [.. Enumerable.Range(0, keys).Select(i => $"{prefix}/k{i}")];
    private readonly List<long> _leases = [];

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

    /// <summary>Revokes the leases the clients left granted, so that they do not outlive the run.</summary>
    public async Task RevokeLeasesAsync()
    {
        foreach (var lease in _leases)
        {
            try
            {
                await cluster.Client("node1").LeaseRevokeAsync(lease, TimeSpan.FromSeconds(30));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                // revoked by its client already
            }
        }
    }

    private async Task ClientAsync(int client, string node, CancellationToken stop)
    {
        var random = new Random(client * 7919);
        var lastSeen = new Dictionary<string, long>();
        var kv = cluster.Client(node);
        var lease = new ClientLease();
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var key = _keys[random.Next(_keys.Length)];
            var value = $"c{client}-{n}";
            var roll = random.Next(100);
            if (roll >= 85)
            {
                var succeeded = roll switch
                {
                    < 93 => await TransactionAsync(kv, client, node, key, _keys[(Array.IndexOf(_keys, key) + 1 + random.Next(_keys.Length - 1)) % _keys.Length], value, lastSeen),
                    < 98 => await PutWithLeaseAsync(kv, client, node, key, value, lease, random),
                    _ => await RevokeAsync(kv, client, node, lease),
                };
                await Task.Delay(succeeded ? random.Next(0, 3) : random.Next(20, 60), CancellationToken.None);
                continue;
            }

            var kind = roll < 34 ? OperationKind.Put : roll < 47 ? OperationKind.CompareAndSet : roll < 77 ? OperationKind.Get : OperationKind.Delete;
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
                operation = new Operation(0, node, kind, key, 0, 0, Failure(ex, kind == OperationKind.Get));
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

    /// <summary>
    /// A call refused before anything was done, one that never reached the node, or a read, had no
    /// effect; any other failed write may or may not have been applied.
    /// </summary>
    private static Outcome Failure(RpcException ex, bool read = false) =>
        read || KvMetadata.WasRefused(ex) || KvClient.NeverReachedNode(ex) ? Outcome.Failed : Outcome.Unknown;

    /// <summary>
    /// If <paramref name="first"/> is at the mod_revision last seen, set it and <paramref name="second"/>
    /// at one revision; otherwise read <paramref name="first"/>. Recorded as a compare-and-set of the
    /// first key and a Put of the second, with the transaction's revision.
    /// </summary>
    private async Task<bool> TransactionAsync(KvClient kv, int client, string node, string first, string second, string value, Dictionary<string, long> lastSeen)
    {
        var expected = lastSeen.GetValueOrDefault(first);
        var (firstValue, secondValue) = (value, value + "b");
        var request = new TxnRequest
        {
            Compares = { new Compare { Key = first, ModRevision = expected, Result = Compare.Types.Result.Equal } },
            Success =
            {
                new RequestOp { Put = new PutRequest { Key = first, Value = ByteString.CopyFromUtf8(firstValue) } },
                new RequestOp { Put = new PutRequest { Key = second, Value = ByteString.CopyFromUtf8(secondValue) } },
            },
            Failure = { new RequestOp { Get = new GetRequest { Key = first } } },
        };
        var invoked = Stopwatch.GetTimestamp();
        var name = $"txn{client}.{value}";
        var firstPart = new Operation(client, node, OperationKind.CompareAndSet, first, invoked, 0, Outcome.Ok) { Value = firstValue, ExpectedModRevision = expected, Deadline = deadline, Transaction = name };
        var secondPart = new Operation(client, node, OperationKind.Put, second, invoked, 0, Outcome.Ok) { Value = secondValue, Deadline = deadline, Transaction = name };
        try
        {
            var response = await kv.TxnAsync(request, deadline);
            var returned = Stopwatch.GetTimestamp();
            if (response.Succeeded)
            {
                History.Add(firstPart with { Returned = returned, Matched = true, Revision = response.Revision, Elapsed = Stopwatch.GetElapsedTime(invoked) });
                History.Add(secondPart with { Returned = returned, Revision = response.Revision, Elapsed = Stopwatch.GetElapsedTime(invoked) });
            }
            else
            {
                var got = response.Responses[0].Get;
                lastSeen[first] = got.Found ? got.Entry.ModRevision : 0;
                History.Add(firstPart with { Returned = returned, Matched = false, ModRevision = lastSeen[first], Elapsed = Stopwatch.GetElapsedTime(invoked) });
            }

            return true;
        }
        catch (RpcException ex)
        {
            var outcome = Failure(ex);
            History.Add(firstPart with { Returned = long.MaxValue, Outcome = outcome, Elapsed = Stopwatch.GetElapsedTime(invoked) });
            History.Add(secondPart with { Returned = long.MaxValue, Outcome = outcome, Elapsed = Stopwatch.GetElapsedTime(invoked) });
            return false;
        }
    }

    /// <summary>A Put attached to the client's lease, granted first when it has none; recorded as a Put.</summary>
    private async Task<bool> PutWithLeaseAsync(KvClient kv, int client, string node, string key, string value, ClientLease lease, Random random)
    {
        if (lease.Id == 0)
        {
            var id = random.NextInt64(1, long.MaxValue);
            lock (_leases)
            {
                _leases.Add(id);
            }

            try
            {
                await kv.LeaseGrantAsync(LeaseTtl, id, deadline);
            }
            catch (RpcException)
            {
                return false; // granted or not, it has no keys; the next try grants another
            }

            lease.Start(id);
        }

        lease.Values.Add(value); // before the call: a Put whose outcome is unknown may still attach it
        var invoked = Stopwatch.GetTimestamp();
        var operation = new Operation(client, node, OperationKind.Put, key, invoked, 0, Outcome.Ok) { Value = value, Deadline = deadline, Transaction = $"put(lease {lease.Id:x})" };
        try
        {
            var put = await kv.PutAsync(new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(value), Lease = lease.Id }, deadline);
            History.Add(operation with { Returned = Stopwatch.GetTimestamp(), Revision = put.Revision, Elapsed = Stopwatch.GetElapsedTime(invoked) });
            return true;
        }
        catch (RpcException ex)
        {
            // NOT_FOUND: the lease is gone (a revocation whose outcome was unknown did happen), and nothing was written.
            History.Add(operation with { Returned = long.MaxValue, Outcome = ex.StatusCode == StatusCode.NotFound ? Outcome.Failed : Failure(ex), Elapsed = Stopwatch.GetElapsedTime(invoked) });
            if (ex.StatusCode == StatusCode.NotFound)
            {
                lease.Start(0);
            }

            return false;
        }
    }

    /// <summary>Revokes the client's lease; recorded as its effect on every key, which depends on the value the key holds.</summary>
    private async Task<bool> RevokeAsync(KvClient kv, int client, string node, ClientLease lease)
    {
        if (lease.Id == 0)
        {
            return true;
        }

        var (id, values) = (lease.Id, lease.Values);
        lease.Start(0);
        var invoked = Stopwatch.GetTimestamp();
        Operation Part(string key) => new(client, node, OperationKind.Revoke, key, invoked, 0, Outcome.Ok) { LeaseValues = values, Deadline = deadline };
        try
        {
            var revoked = await kv.LeaseRevokeAsync(id, deadline);
            var returned = Stopwatch.GetTimestamp();
            foreach (var key in _keys)
            {
                History.Add(Part(key) with { Returned = returned, Deleted = revoked.Deleted, Revision = revoked.Deleted > 0 ? revoked.Revision : 0, Elapsed = Stopwatch.GetElapsedTime(invoked) });
            }

            return true;
        }
        catch (RpcException ex)
        {
            // NOT_FOUND: an earlier call already revoked it; this one did nothing.
            var outcome = ex.StatusCode == StatusCode.NotFound ? Outcome.Failed : Failure(ex);
            foreach (var key in _keys)
            {
                History.Add(Part(key) with { Returned = long.MaxValue, Outcome = outcome, Elapsed = Stopwatch.GetElapsedTime(invoked) });
            }

            return false;
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

    /// <summary>A client's current lease and the values it wrote with it.</summary>
    private sealed class ClientLease
    {
        public long Id { get; private set; }

        public HashSet<string> Values { get; private set; } = new(StringComparer.Ordinal);

        public void Start(long id)
        {
            Id = id;
            Values = new HashSet<string>(StringComparer.Ordinal);
        }
    }
}
