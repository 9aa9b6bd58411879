using AspireKv.V1;
using Google.Protobuf;
using Grpc.Core;

namespace AspireKv.Client;

/// <summary>
/// A lock, and the recipe for it, built on a lease, a transaction and a watch as etcd's are:
/// <list type="number">
/// <item>grant a lease, and keep it alive in the background;</item>
/// <item>in one transaction, create the key <c>locks/NAME</c> with the lease if it does not exist
/// (its create_revision is 0);</item>
/// <item>if it exists, watch it until it is deleted (its holder let go, or its lease expired), then try again.</item>
/// </list>
/// Holding the lock ends when it is disposed (the lease is revoked, which deletes the key at
/// once), or when the lease cannot be kept alive: <see cref="Lost"/> says so. Work done under the
/// lock can fence itself with <see cref="Revision"/>: it grows every time the lock changes hands.
/// </summary>
public sealed class KvLock : IAsyncDisposable
{
    /// <summary>Under what prefix lock keys live.</summary>
    public const string Prefix = "locks/";

    private readonly KvClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private Task _keepAlive = Task.CompletedTask;

    private KvLock(KvClient client, string key, long lease, long revision)
    {
        _client = client;
        Key = key;
        Lease = lease;
        Revision = revision;
    }

    /// <summary>The lock's key: <c>locks/NAME</c>.</summary>
    public string Key { get; }

    /// <summary>The lease that holds it.</summary>
    public long Lease { get; }

    /// <summary>The revision the lock was taken at (the key's create_revision): a fencing token.</summary>
    public long Revision { get; }

    /// <summary>Cancelled when the lock is lost: its lease could not be kept alive.</summary>
    public CancellationToken Lost => _lost.Token;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _keepAlive.ConfigureAwait(false);
        try
        {
            await _client.LeaseRevokeAsync(Lease).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // The lease expires on its own then, and the key with it.
        }

        _stop.Dispose();
        _lost.Dispose();
    }

    internal static async Task<KvLock> AcquireAsync(KvClient client, string name, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var key = Prefix + name;
        var lease = (await client.LeaseGrantAsync(ttl, cancellationToken: cancellationToken).ConfigureAwait(false)).Id;
        using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var keeping = KeepAliveAsync(client, lease, ttl, keepAlive.Token);
        try
        {
            while (true)
            {
                var txn = new TxnRequest
                {
                    Compares = { new Compare { Key = key, Result = Compare.Types.Result.Equal, CreateRevision = 0 } },
                    Success = { new RequestOp { Put = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(Environment.MachineName), Lease = lease } } },
                    Failure = { new RequestOp { Get = new GetRequest { Key = key } } },
                };
                var response = await client.TxnAsync(txn, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (response.Succeeded)
                {
                    await keepAlive.CancelAsync().ConfigureAwait(false);
                    await keeping.ConfigureAwait(false);
                    var held = new KvLock(client, key, lease, response.Revision);
                    held._keepAlive = held.KeepAliveWhileHeldAsync(ttl);
                    return held;
                }

                await WaitForDeleteAsync(client, key, response.Revision + 1, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await keepAlive.CancelAsync().ConfigureAwait(false);
            await keeping.ConfigureAwait(false);
            try
            {
                await client.LeaseRevokeAsync(lease, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
            catch (RpcException)
            {
            }

            throw;
        }
    }

    private static async Task WaitForDeleteAsync(KvClient client, string key, long from, CancellationToken cancellationToken)
    {
        await foreach (var response in client.WatchAsync(new WatchRequest { Key = key, StartRevision = from }, cancellationToken).ConfigureAwait(false))
        {
            if (response.Events.Any(e => e.Type == Event.Types.Type.Delete))
            {
                return;
            }
        }
    }

    /// <summary>Keeps the lease alive about three times per TTL until stopped; returns false when the lease is gone.</summary>
    internal static async Task<bool> KeepAliveAsync(KvClient client, long lease, TimeSpan ttl, CancellationToken stop)
    {
        var interval = TimeSpan.FromTicks(Math.Max(ttl.Ticks / 3, TimeSpan.FromMilliseconds(200).Ticks));
        try
        {
            while (true)
            {
                await Task.Delay(interval, stop).ConfigureAwait(false);
                try
                {
                    await client.LeaseKeepAliveAsync(lease, timeout: interval, cancellationToken: stop).ConfigureAwait(false);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                {
                    return false;
                }
                catch (RpcException) when (!stop.IsCancellationRequested)
                {
                    // A node or broker hiccup: try again at the next beat; the TTL allows for two misses.
                }
            }
        }
        catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or RpcException)
        {
            // Stopped; a keep-alive in flight then ends as a cancelled call, or as one that ran out
            // of time just as the stop came: either way its answer no longer matters.
            return true;
        }
    }

    private async Task KeepAliveWhileHeldAsync(TimeSpan ttl)
    {
        if (!await KeepAliveAsync(_client, Lease, ttl, _stop.Token).ConfigureAwait(false))
        {
            await _lost.CancelAsync().ConfigureAwait(false);
        }
    }
}
