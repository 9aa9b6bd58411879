using System.Text.Json;
using AspireKv.Client;
using AspireKv.Hosting.AppModel;
using AspireKv.V1;
using Grpc.Core;

namespace AspireKv.Hosting.Dashboard;

/// <summary>
/// The dashboard's Replication page: the stream (its first and last offset, its size on disk),
/// each broker's state and which one leads the stream, and each node's applied offset and
/// revision, its lag behind the stream, its broker and its last snapshot. The stream's state comes
/// from <c>rabbitmq-streams stream_status</c> on a broker the AppHost runs, at most every few
/// seconds (the tool starts an Erlang VM); the nodes' from their Status call.
/// </summary>
internal sealed class ReplicationView(DistributedApplication app, NodeClients clients)
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StreamStatusAge = TimeSpan.FromSeconds(3);
    private readonly SemaphoreSlim _streamGate = new(1, 1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTimeOffset At, NodeView View)> _lastSeen = new();
    private (DateTimeOffset At, StreamStatus Status)? _stream;

    public async Task<object> DescribeAsync(CancellationToken cancellationToken)
    {
        var nodes = await Task.WhenAll(app.Resources.OfType<NodeResource>().Select(n => DescribeNodeAsync(n, cancellationToken))).ConfigureAwait(false);
        var stream = await StreamStatusAsync().ConfigureAwait(false);
        var last = stream.CommittedOffset ?? nodes.Max(n => n.AppliedOffset);
        return new
        {
            stream = new
            {
                name = LogNames.Stream,
                firstOffset = stream.FirstOffset,
                lastOffset = stream.CommittedOffset,
                segments = stream.Segments,
                sizeBytes = stream.SizeBytes,
                source = stream.Source,
                error = stream.Error,
            },
            brokers = DescribeBrokers(stream),
            nodes = nodes.Select(n => new
            {
                name = n.Name,
                state = n.State,
                health = n.Health,
                detail = n.Detail,
                appliedOffset = n.AppliedOffset,
                appliedRevision = n.AppliedRevision,
                lag = n.AppliedOffset is { } applied && last is { } end ? Math.Max(0, end - applied) : (long?)null,
                broker = n.Broker,
                lastSnapshot = n.Snapshot is { } s ? new { appliedOffset = s.AppliedLogOffset, revision = s.Revision, writtenUnixMs = s.WrittenUnixMs, sizeBytes = s.SizeBytes, source = s.Source } : null,
                actions = n.Actions,
            }),
        };
    }

    private IEnumerable<object> DescribeBrokers(StreamStatus stream)
    {
        foreach (var messaging in app.Resources.OfType<RabbitMqResource>())
        {
            if (messaging.Brokers.Count > 0)
            {
                foreach (var broker in messaging.Brokers)
                {
                    yield return Broker(broker, broker.NodeName, stream);
                }
            }
            else
            {
                yield return Broker(messaging, app.Orchestrator.Brokers.Servers(messaging).FirstOrDefault()?.NodeName, stream);
            }
        }
    }

    private object Broker(Resource resource, string? nodeName, StreamStatus stream)
    {
        var member = stream.Members.FirstOrDefault(m => m.Node == nodeName);
        return new
        {
            name = resource.Name,
            erlangNode = nodeName,
            state = resource.State.ToString(),
            health = resource.Health.ToString(),
            managed = resource.IsManaged,
            role = member is null ? null : member.Role == "writer" ? "leader" : "replica",
            offset = member?.Offset,
            actions = DashboardServer.AllowedActions(app, resource),
        };
    }

    /// <summary>
    /// A node as it answers Status now; one that does not (paused, stopped) shows its offsets as
    /// last seen, so that its lag grows while the stream moves on without it.
    /// </summary>
    private async Task<NodeView> DescribeNodeAsync(NodeResource node, CancellationToken cancellationToken)
    {
        var view = new NodeView(node.Name, node.State.ToString(), node.Health.ToString(), DashboardServer.AllowedActions(app, node));
        string reason;
        if (node.State != ResourceState.Running)
        {
            reason = node.StateDetail ?? node.State.ToString();
        }
        else
        {
            try
            {
                var status = await clients.For(node.GrpcAddress).StatusAsync(timeout: StatusTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                var answered = view with
                {
                    Health = status.Health switch
                    {
                        NodeHealth.Serving => "Serving",
                        NodeHealth.Degraded => "Degraded",
                        NodeHealth.Starting => "Starting",
                        _ => "NotServing",
                    },
                    Detail = status.HealthDetail,
                    AppliedOffset = status.AppliedLogOffset,
                    AppliedRevision = status.AppliedRevision,
                    Broker = status.Broker,
                    Snapshot = status.LastSnapshot,
                };
                _lastSeen[node.Name] = (DateTimeOffset.UtcNow, answered);
                return answered;
            }
            catch (RpcException ex)
            {
                reason = $"{ex.StatusCode}: {ex.Status.Detail}";
            }
        }

        return _lastSeen.TryGetValue(node.Name, out var last)
            ? view with
            {
                Detail = $"{reason}; offsets as last seen at {last.At:HH:mm:ss} UTC",
                AppliedOffset = last.View.AppliedOffset,
                AppliedRevision = last.View.AppliedRevision,
                Broker = last.View.Broker,
                Snapshot = last.View.Snapshot,
            }
            : view with { Detail = reason };
    }

    /// <summary>The stream's state from a broker the AppHost runs, taken at most every few seconds.</summary>
    private async Task<StreamStatus> StreamStatusAsync()
    {
        await _streamGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stream is { } cached && DateTimeOffset.UtcNow - cached.At < StreamStatusAge)
            {
                return cached.Status;
            }

            var status = await ReadStreamStatusAsync().ConfigureAwait(false);
            _stream = (DateTimeOffset.UtcNow, status);
            return status;
        }
        finally
        {
            _streamGate.Release();
        }
    }

    private async Task<StreamStatus> ReadStreamStatusAsync()
    {
        var servers = app.Resources.OfType<RabbitMqResource>().SelectMany(app.Orchestrator.Brokers.Servers).Where(s => s.IsRunning).ToList();
        if (servers.Count == 0)
        {
            return StreamStatus.Unknown(app.Resources.OfType<RabbitMqResource>().Any(r => !r.IsManaged)
                ? "the broker is an existing one (ConnectionStrings), which the AppHost does not run; its stream is not shown"
                : "no broker is running");
        }

        var error = string.Empty;
        foreach (var server in servers)
        {
            var (exitCode, output) = await server.RunStreamsCtlAsync(TimeSpan.FromSeconds(15), "stream_status", LogNames.Stream, "--formatter", "json").ConfigureAwait(false);
            if (exitCode != 0)
            {
                error = $"rabbitmq-streams stream_status on {server.Name}: {output.Trim().Split('\n').LastOrDefault()}";
                continue;
            }

            try
            {
                var members = ParseMembers(output);
                var leader = members.FirstOrDefault(m => m.Role == "writer");
                var holder = servers.FirstOrDefault(s => s.NodeName == leader?.Node) ?? server;
                return new StreamStatus(
                    leader?.FirstOffset ?? members.Select(m => m.FirstOffset).Min(),
                    leader?.CommittedOffset ?? members.Select(m => m.CommittedOffset).Max(),
                    leader?.Segments,
                    holder.StreamBytesOnDisk(LogNames.Stream),
                    holder.Name,
                    null,
                    members);
            }
            catch (JsonException ex)
            {
                error = $"rabbitmq-streams stream_status on {server.Name} answered what this dashboard cannot read: {ex.Message}";
            }
        }

        return StreamStatus.Unknown(error);
    }

    /// <summary>The members in <c>stream_status --formatter json</c>'s answer (one object per replica).</summary>
    internal static List<StreamMember> ParseMembers(string output)
    {
        var json = output[output.IndexOf('[', StringComparison.Ordinal)..];
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(m => new StreamMember(
            m.GetProperty("node").GetString() ?? string.Empty,
            m.GetProperty("role").GetString() ?? string.Empty,
            Number(m, "offset"),
            Number(m, "committed_offset"),
            Number(m, "first_offset"),
            Number(m, "segments")))];
    }

    /// <summary>A number, or null where the tool says something else (a member that is down reports no offsets).</summary>
    private static long? Number(JsonElement member, string name) =>
        member.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;

    internal sealed record StreamMember(string Node, string Role, long? Offset, long? CommittedOffset, long? FirstOffset, long? Segments);

    private sealed record StreamStatus(long? FirstOffset, long? CommittedOffset, long? Segments, long? SizeBytes, string? Source, string? Error, IReadOnlyList<StreamMember> Members)
    {
        public static StreamStatus Unknown(string error) => new(null, null, null, null, null, error, []);
    }

    private sealed record NodeView(string Name, string State, string Health, IReadOnlyList<string> Actions)
    {
        public string? Detail { get; init; }

        public long? AppliedOffset { get; init; }

        public long? AppliedRevision { get; init; }

        public string? Broker { get; init; }

        public SnapshotSummary? Snapshot { get; init; }
    }
}
