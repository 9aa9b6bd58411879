using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using AspireKv.Node.Replication;

namespace AspireKv.Node.Etcd;

/// <summary>
/// The ids etcd's response headers carry. The cluster id comes from the log's identity (a hash of
/// its first entry), so it is the same on every node and stays stable across restarts; the member
/// id comes from the node's id.
/// </summary>
public sealed class EtcdIdentity(Replica replica)
{
    private ulong _clusterId;

    public ulong MemberId { get; } = IdOf(replica.NodeId);

    /// <summary>0 until the node has applied the log's first entry.</summary>
    public ulong ClusterId
    {
        get
        {
            if (_clusterId == 0)
            {
                var identity = replica.Inspect(state => state.LogIdentity);
                _clusterId = identity.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(identity.Span) : 0;
            }

            return _clusterId;
        }
    }

    /// <summary>A member id for a node id: the first 8 bytes of its SHA-256.</summary>
    public static ulong IdOf(string nodeId) => BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(nodeId)));

    public AspireKv.Etcd.ResponseHeader Header(long revision) => new() { ClusterId = ClusterId, MemberId = MemberId, Revision = revision };
}
