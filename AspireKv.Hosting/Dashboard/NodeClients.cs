using AspireKv.Client;

namespace AspireKv.Hosting.Dashboard;

/// <summary>The dashboard's gRPC clients of the nodes, one per address, kept while it serves.</summary>
internal sealed class NodeClients : IDisposable
{
    private readonly Dictionary<Uri, KvClient> _clients = [];

    public KvClient For(Uri address)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(address, out var client))
            {
                client = _clients[address] = new KvClient(address.ToString());
            }

            return client;
        }
    }

    public void Dispose()
    {
        lock (_clients)
        {
            foreach (var client in _clients.Values)
            {
                client.Dispose();
            }

            _clients.Clear();
        }
    }
}
