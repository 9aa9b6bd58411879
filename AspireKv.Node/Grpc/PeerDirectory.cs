using AspireKv.Client.Discovery;
using AspireKv.V1;

namespace AspireKv.Node.Grpc;

/// <summary>The peers a node knows: from service discovery configuration (their addresses) and from the log (what they proposed).</summary>
public sealed class PeerDirectory(IReadOnlyList<ServiceEndpoint> configured, string selfId)
{
    public IEnumerable<Peer> Describe(IReadOnlyDictionary<string, long> lastSeenByOrigin)
    {
        var peers = new SortedDictionary<string, Peer>(StringComparer.Ordinal);
        foreach (var endpoint in configured)
        {
            peers.TryAdd(endpoint.Service, new Peer { NodeId = endpoint.Service, Address = endpoint.Address.ToString().TrimEnd('/'), LastSeenLogOffset = -1 });
        }

        foreach (var (origin, offset) in lastSeenByOrigin)
        {
            if (!peers.TryGetValue(origin, out var peer))
            {
                peer = peers[origin] = new Peer { NodeId = origin, LastSeenLogOffset = -1 };
            }

            peer.LastSeenLogOffset = offset;
        }

        peers.Remove(selfId);
        return peers.Values;
    }
}
