using System.Text.Json.Nodes;
using AspireKv.Cli.Targeting;
using AspireKv.V1;
using Grpc.Core;

namespace AspireKv.Cli.Verbs;

/// <summary><c>status</c>: every node's id, applied revision, health and lag.</summary>
internal static class StatusVerb
{
    public static async Task<int> RunAsync(CliContext context)
    {
        var nodes = await NodesToAskAsync(context).ConfigureAwait(false);
        var answers = await Task.WhenAll(nodes.Select(async node =>
        {
            try
            {
                var status = await context.Client(node.Address).StatusAsync(timeout: TimeSpan.FromSeconds(3)).ConfigureAwait(false);
                return (Node: node, Status: status, Error: (string?)null);
            }
            catch (RpcException ex)
            {
                return (Node: node, Status: (StatusResponse?)null, Error: $"{ex.StatusCode}: {ex.Status.Detail}");
            }
        })).ConfigureAwait(false);

        var newest = answers.Where(a => a.Status is not null).Select(a => a.Status!.AppliedRevision).DefaultIfEmpty(0).Max();
        if (context.Output.Format == OutputFormat.Json)
        {
            var array = new JsonArray();
            foreach (var (node, status, error) in answers)
            {
                var json = new JsonObject { ["name"] = node.Name, ["address"] = node.Address.ToString().TrimEnd('/') };
                if (status is null)
                {
                    json["reachable"] = false;
                    json["error"] = error;
                }
                else
                {
                    json["reachable"] = true;
                    json["nodeId"] = status.NodeId;
                    json["health"] = HealthName(status.Health);
                    json["healthDetail"] = status.HealthDetail;
                    json["appliedRevision"] = status.AppliedRevision;
                    json["appliedLogOffset"] = status.AppliedLogOffset;
                    json["lag"] = newest - status.AppliedRevision;
                    json["keys"] = status.KeyCount;
                    json["skippedLogEntries"] = status.SkippedLogEntries;
                    json["version"] = status.Version;
                }

                array.Add((JsonNode)json);
            }

            context.Output.Json(array);
        }
        else
        {
            var rows = answers.Select(a => a.Status is { } s
                ? new[] { a.Node.Name, a.Node.Address.ToString().TrimEnd('/'), HealthName(s.Health), s.AppliedRevision.ToString(), s.AppliedLogOffset.ToString(), (newest - s.AppliedRevision).ToString(), s.KeyCount.ToString(), s.SkippedLogEntries.ToString(), s.HealthDetail }
                : [a.Node.Name, a.Node.Address.ToString().TrimEnd('/'), "unreachable", "-", "-", "-", "-", "-", a.Error ?? string.Empty]).ToList();
            string[] header = ["NODE", "ADDRESS", "HEALTH", "REVISION", "OFFSET", "LAG", "KEYS", "SKIPPED", "DETAIL"];
            var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
            string Format(string[] cells) => string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
            context.Output.Line(Format(header));
            foreach (var row in rows)
            {
                context.Output.Line(Format(row));
            }
        }

        return answers.All(a => a.Status is not null) ? ExitCodes.Ok : ExitCodes.Unavailable;
    }

    public static string HealthName(NodeHealth health) => health switch
    {
        NodeHealth.Serving => "serving",
        NodeHealth.Degraded => "degraded",
        NodeHealth.NotServing => "not-serving",
        NodeHealth.Starting => "starting",
        _ => "unknown",
    };

    /// <summary>The named node and its peers when one was named; otherwise every known node.</summary>
    private static async Task<IReadOnlyList<Target>> NodesToAskAsync(CliContext context)
    {
        if (!context.ExplicitTarget && context.Resolver.KnownNodes() is { Count: > 0 } known)
        {
            return known;
        }

        var nodes = new List<Target> { context.Target };
        try
        {
            var status = await context.Client(context.Target.Address).StatusAsync(timeout: TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(status.NodeId))
            {
                nodes[0] = context.Target with { Name = status.NodeId };
            }

            nodes.AddRange(status.Peers.Where(p => !string.IsNullOrEmpty(p.Address)).Select(p => new Target(p.NodeId, new Uri(p.Address))));
        }
        catch (RpcException) when (!context.Target.IsGuess)
        {
            // Reported as unreachable below. (With no AppHost found and nothing where a lone node
            // listens, the error itself goes out: it says what to do, a table would not.)
        }

        return nodes;
    }
}
