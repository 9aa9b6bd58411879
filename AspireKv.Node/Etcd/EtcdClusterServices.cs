using AspireKv.Node.Grpc;
using AspireKv.Node.Replication;
using Grpc.Core;

namespace AspireKv.Node.Etcd;

/// <summary>
/// etcd's <c>Cluster.MemberList</c>: the nodes as members, each with its gRPC address as its client
/// URL. AspireKv nodes have no peer URLs (they talk only through the log) and no learners.
/// </summary>
public sealed class EtcdClusterService(Replica replica, EtcdIdentity identity, PeerDirectory peers) : AspireKv.Etcd.Cluster.ClusterBase
{
    public override Task<AspireKv.Etcd.MemberListResponse> MemberList(AspireKv.Etcd.MemberListRequest request, ServerCallContext context)
    {
        var response = new AspireKv.Etcd.MemberListResponse { Header = identity.Header(replica.Inspect(s => s.Revision)) };
        var self = new AspireKv.Etcd.Member { ID = identity.MemberId, Name = replica.NodeId };
        self.ClientURLs.Add($"http://{context.GetHttpContext().Request.Host}");
        response.Members.Add(self);
        foreach (var peer in peers.Describe(replica.LastSeenByOrigin()))
        {
            var member = new AspireKv.Etcd.Member { ID = EtcdIdentity.IdOf(peer.NodeId), Name = peer.NodeId };
            if (peer.Address.Length > 0)
            {
                member.ClientURLs.Add(peer.Address);
            }

            response.Members.Add(member);
        }

        return Task.FromResult(response);
    }

}

/// <summary>
/// etcd's <c>Maintenance.Status</c>, as <c>etcdctl endpoint status</c> shows it: the version of
/// etcd's API that AspireKv speaks, the keys' size, and the log offset the node has applied as
/// its raft index. There is no leader (the log orders writes), so <c>leader</c> is 0; a node that
/// cannot serve says why in <c>errors</c>.
/// </summary>
public sealed class EtcdMaintenanceService(Replica replica, EtcdIdentity identity) : AspireKv.Etcd.Maintenance.MaintenanceBase
{
    /// <summary>The etcd API version AspireKv's etcd layer follows.</summary>
    public const string ApiVersion = "3.4.0";

    public override Task<AspireKv.Etcd.StatusResponse> Status(AspireKv.Etcd.StatusRequest request, ServerCallContext context)
    {
        var health = replica.Health;
        var response = replica.Inspect(state =>
        {
            var offset = (ulong)Math.Max(0, state.AppliedOffset + 1);
            return new AspireKv.Etcd.StatusResponse
            {
                Header = identity.Header(state.Revision),
                Version = ApiVersion,
                DbSize = state.KeyCount,
                DbSizeInUse = state.KeyCount,
                RaftIndex = offset,
                RaftAppliedIndex = offset,
            };
        });
        if (health.Health != ReplicaHealth.Serving)
        {
            response.Errors.Add($"{replica.NodeId} is {health.Health.ToString().ToLowerInvariant()}: {health.Detail}");
        }

        return Task.FromResult(response);
    }

    /// <summary>AspireKv raises no alarms (a full disk or a corrupt store stops a node instead, and its Status says why): the list is empty, and there is nothing to disarm.</summary>
    public override Task<AspireKv.Etcd.AlarmResponse> Alarm(AspireKv.Etcd.AlarmRequest request, ServerCallContext context) =>
        request.Action == AspireKv.Etcd.AlarmRequest.Types.AlarmAction.Activate
            ? throw EtcdErrors.Unimplemented("activating alarms")
            : Task.FromResult(new AspireKv.Etcd.AlarmResponse { Header = identity.Header(replica.Inspect(s => s.Revision)) });
}
