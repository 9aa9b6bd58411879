using System.Diagnostics;
using System.Diagnostics.Metrics;
using AspireKv.Node.Commands;
using AspireKv.Node.Replication;
using AspireKv.Node.StateMachine;

namespace AspireKv.Node.Diagnostics;

/// <summary>
/// The node's own telemetry. A write is traced across the broker: the proposer's
/// <c>aspirekv.propose</c> span (child of the gRPC call) carries its context in the command, the
/// <c>aspirekv.publish</c> span covers the publish and its confirm, and every replica records an
/// <c>aspirekv.apply</c> span under it. Metrics count proposals, applies, skipped entries,
/// barrier waits and reconnects, and measure how long entries take to reach each replica.
/// </summary>
public static class NodeDiagnostics
{
    public const string SourceName = "AspireKv.Node";

    public static readonly ActivitySource Source = new(SourceName, typeof(NodeDiagnostics).Assembly.GetName().Version?.ToString());

    public static readonly Meter Meter = new(SourceName, typeof(NodeDiagnostics).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Operations = Meter.CreateCounter<long>(
        "aspirekv.operations", "{operation}", "Calls served by the KeyValue service, by method.");

    public static readonly Counter<long> Proposals = Meter.CreateCounter<long>(
        "aspirekv.proposals", "{command}", "Commands this node proposed to the log.");

    public static readonly Counter<long> Applies = Meter.CreateCounter<long>(
        "aspirekv.applies", "{command}", "Commands this node applied from the log, by outcome.");

    public static readonly Histogram<double> ApplyLag = Meter.CreateHistogram<double>(
        "aspirekv.apply.lag", "s", "From the proposer publishing an entry to this node applying it.");

    public static readonly Histogram<double> BarrierWait = Meter.CreateHistogram<double>(
        "aspirekv.barrier.wait", "s", "How long linearizable reads waited for their barrier.");

    // Named once: the apply loop tags every command with its outcome, and enum ToString allocates.
    private static readonly string[] OutcomeNames = Enum.GetNames<CommandOutcome>();

    public static readonly Histogram<long> BatchSize = Meter.CreateHistogram<long>(
        "aspirekv.log.batch_size", "{command}", "Commands per log entry this node published.");

    public static Activity? StartPropose(Command command)
    {
        var activity = Source.StartActivity($"aspirekv.propose {Operation(command)}", ActivityKind.Internal);
        activity?.SetTag("aspirekv.operation", Operation(command));
        return activity;
    }

    /// <summary>The publish of one log entry, under the first command's trace and linked to the others'.</summary>
    public static Activity? StartPublish(LogEntry entry, string exchange)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var contexts = entry.Commands
            .Select(c => ActivityContext.TryParse(c.Traceparent, null, out var context) ? context : default)
            .Where(c => c != default)
            .ToList();
        if (contexts.Count == 0)
        {
            return null; // only barriers with no traced reader: nothing to hang a span on
        }

        var links = contexts.Skip(1).Select(c => new ActivityLink(c));
        var activity = Source.StartActivity($"publish {exchange}", ActivityKind.Producer, contexts[0], links: links);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "rabbitmq");
            activity.SetTag("messaging.operation.type", "publish");
            activity.SetTag("messaging.destination.name", exchange);
            activity.SetTag("messaging.batch.message_count", entry.Commands.Count);
        }

        return activity;
    }

    /// <summary>Records one <c>aspirekv.apply</c> span per traced command of an entry this replica applied.</summary>
    public static void RecordApply(string nodeId, long offset, LogEntry entry, List<CommandResult> results, DateTimeOffset started)
    {
        var now = DateTimeOffset.UtcNow;
        if (entry.ProposedAtUnixMicros > 0)
        {
            ApplyLag.Record(Math.Max(0, (now - DateTimeOffset.UnixEpoch.AddTicks(entry.ProposedAtUnixMicros * TimeSpan.TicksPerMicrosecond)).TotalSeconds));
        }

        for (var i = 0; i < results.Count; i++)
        {
            var command = entry.Commands[i];
            var outcome = results[i].Outcome;
            Applies.Add(1, new KeyValuePair<string, object?>("aspirekv.outcome", OutcomeNames[(int)outcome]));
            if (command.Traceparent.Length == 0 || !Source.HasListeners()
                || !ActivityContext.TryParse(command.Traceparent, null, out var parent))
            {
                continue;
            }

            using var activity = Source.StartActivity($"aspirekv.apply {Operation(command)}", ActivityKind.Consumer, parent, startTime: started);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag("aspirekv.node", nodeId);
                activity.SetTag("aspirekv.operation", Operation(command));
                activity.SetTag("aspirekv.log.offset", offset);
                activity.SetTag("aspirekv.revision", results[i].Revision);
                activity.SetTag("aspirekv.outcome", OutcomeNames[(int)outcome]);
                activity.SetTag("messaging.system", "rabbitmq");
                activity.SetTag("messaging.operation.type", "process");
            }

            activity?.SetEndTime(now.UtcDateTime);
        }
    }

    /// <summary>Gauges read from the running replica: its applied revision and offset, skipped entries, and broker reconnects.</summary>
    public static void Observe(Replica replica, IReplicationLog log)
    {
        Meter.CreateObservableGauge("aspirekv.applied_revision", () => replica.Inspect(s => s.Revision), "{revision}", "The store revision this node has applied.");
        Meter.CreateObservableGauge("aspirekv.applied_offset", () => replica.Inspect(s => s.AppliedOffset), "{offset}", "The log offset this node has applied.");
        Meter.CreateObservableCounter("aspirekv.log.skipped", () => replica.Inspect(s => s.SkippedEntries), "{entry}", "Log entries skipped because they could not be decoded.");
        if (log is not InMemoryReplicationLog)
        {
            Meter.CreateObservableCounter("aspirekv.broker.reconnects", () => log.Reconnects, "{reconnect}", "Times the connection to the broker was made again after it was lost.");
        }
    }

    public static string Operation(Command command) => command.OpCase switch
    {
        Command.OpOneofCase.Put => "put",
        Command.OpOneofCase.Delete => "delete",
        Command.OpOneofCase.Barrier => "barrier",
        Command.OpOneofCase.Txn => "txn",
        Command.OpOneofCase.LeaseGrant => "lease-grant",
        Command.OpOneofCase.LeaseRevoke => "lease-revoke",
        Command.OpOneofCase.LeaseKeepAlive => "lease-keepalive",
        Command.OpOneofCase.Compact => "compact",
        Command.OpOneofCase.Tick => "tick",
        Command.OpOneofCase.Auth => "auth",
        _ => "unknown",
    };
}
