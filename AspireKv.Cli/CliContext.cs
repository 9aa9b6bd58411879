using AspireKv.Cli.Targeting;
using AspireKv.Client;
using Grpc.Core;

namespace AspireKv.Cli;

/// <summary>What every verb shares: where to send calls, how long to wait, and how to print.</summary>
internal sealed class CliContext : IAsyncDisposable
{
    private readonly Dictionary<Uri, KvClient> _clients = [];
    private readonly Dictionary<Uri, (Grpc.Net.Client.GrpcChannel Channel, Etcd.KV.KVClient Client)> _etcd = [];

    private CliContext(TargetResolver resolver, Target target, bool explicitTarget, TimeSpan timeout, Output output)
    {
        Resolver = resolver;
        Target = target;
        ExplicitTarget = explicitTarget;
        Timeout = timeout;
        Output = output;
    }

    public TargetResolver Resolver { get; }

    public Target Target { get; set; }

    /// <summary>Whether the user named the node; if not, another known node is tried when the first cannot be reached.</summary>
    public bool ExplicitTarget { get; set; }

    public TimeSpan Timeout { get; }

    public Output Output { get; }

    public static async Task<CliContext> CreateAsync(TargetResolver resolver, string? target, TimeSpan timeout, Output output)
    {
        try
        {
            var resolved = await resolver.ResolveAsync(target).ConfigureAwait(false);
            return new CliContext(resolver, resolved, !string.IsNullOrWhiteSpace(target), timeout, output);
        }
        catch
        {
            await resolver.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The client of the node at <paramref name="address"/>, one per address; safe to call from the bench's concurrent clients.</summary>
    public KvClient Client(Uri address)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(address, out var client))
            {
                client = _clients[address] = new KvClient(address.ToString(), new KvClientOptions { DefaultTimeout = Timeout });
            }

            return client;
        }
    }

    /// <summary>An etcd v3 KV client of <paramref name="address"/> (etcd, or a node's etcd API), one channel per address.</summary>
    public Etcd.KV.KVClient EtcdKv(Uri address)
    {
        lock (_etcd)
        {
            if (!_etcd.TryGetValue(address, out var entry))
            {
                var channel = KvClient.CreateChannel(address, new KvClientOptions { DefaultTimeout = Timeout });
                entry = _etcd[address] = (channel, new Etcd.KV.KVClient(channel));
            }

            return entry.Client;
        }
    }

    /// <summary>
    /// Calls the target node. When the user named no node and the first cannot be reached at
    /// all, the call goes to the next known node; a node that answered with an error is not retried.
    /// </summary>
    public async Task<T> CallAsync<T>(Func<KvClient, Task<T>> call)
    {
        var candidates = ExplicitTarget ? [Target] : new[] { Target }.Concat(Resolver.KnownNodes().Where(n => n.Address != Target.Address)).ToList();
        RpcException? last = null;
        foreach (var candidate in candidates)
        {
            try
            {
                var result = await call(Client(candidate.Address)).ConfigureAwait(false);
                Target = candidate;
                return result;
            }
            catch (RpcException ex) when (KvClient.NeverReachedNode(ex))
            {
                last = ex;
            }
        }

        throw last!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        foreach (var (channel, _) in _etcd.Values)
        {
            channel.Dispose();
        }

        await Resolver.DisposeAsync().ConfigureAwait(false);
    }
}
