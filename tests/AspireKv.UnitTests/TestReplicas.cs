using AspireKv.Node.Replication;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireKv.UnitTests;

/// <summary>Makes replicas for the tests, over whatever log a test gives them.</summary>
internal static class TestReplicas
{
    public static Replica Create(IReplicationLog log, string nodeId, ReplicationOptions? options = null, TimeProvider? time = null) =>
        new(log, options ?? new ReplicationOptions(), nodeId, NullLoggerFactory.Instance, time: time);
}
