using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AspireKv.Cli.Targeting;
using HdrHistogram;

namespace AspireKv.Cli.Bench;

/// <summary>What a bench run measured, and how it compares with design.md's targets.</summary>
internal sealed record BenchReport(
    BenchOptions Options, IReadOnlyList<Target> Targets, IReadOnlyList<WorkloadResult> Results, ReplicationLagSampler? ReplicationLag)
{
    public IReadOnlyList<Ratio> Ratios
    {
        get
        {
            double? Throughput(OperationKind kind) => Results.FirstOrDefault(r => r.Kind == kind)?.OpsPerSecond;
            var ratios = new List<Ratio>();
            if (Throughput(OperationKind.Put) is { } put and > 0)
            {
                if (Throughput(OperationKind.BrokerBaseline) is { } ceiling and > 0)
                {
                    ratios.Add(new Ratio("put / broker-baseline", put / ceiling, 0.5));
                }

                if (Throughput(OperationKind.GetLinearizable) is { } linearizable)
                {
                    ratios.Add(new Ratio("get-linearizable / put", linearizable / put, 1.0));
                }

                if (Throughput(OperationKind.GetSerializable) is { } serializable)
                {
                    ratios.Add(new Ratio("get-serializable / put", serializable / put, 5.0));
                }
            }

            return ratios;
        }
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["api"] = Options.Api == BenchApi.Etcd ? "etcd" : "native",
            ["clients"] = Options.Clients,
            ["rate"] = Options.Rate,
            ["targets"] = new JsonArray([.. Targets.Select(t => (JsonNode)t.Name)]),
            ["warmupSeconds"] = Options.Warmup.TotalSeconds,
            ["keys"] = Options.Keys,
            ["valueSize"] = Options.ValueSize,
            ["results"] = new JsonArray([.. Results.Select(r => (JsonNode)r.ToJson())]),
            ["ratios"] = new JsonArray([.. Ratios.Select(r => (JsonNode)new JsonObject
            {
                ["name"] = r.Name,
                ["value"] = Math.Round(r.Value, 3),
                ["target"] = r.Target,
                ["met"] = r.Met,
            })]),
        };
        if (Options.Operations > 0)
        {
            json["operationsPerWorkload"] = Options.Operations;
        }
        else
        {
            json["secondsPerWorkload"] = Options.Duration.TotalSeconds;
        }

        if (ReplicationLag is { } sampler)
        {
            // Always there when lag was sampled, so that readers need not guess; percentiles only with samples.
            var lag = sampler.Samples > 0 ? WorkloadResult.LatencyJson(sampler.Lag) : [];
            lag["samples"] = sampler.Samples;
            lag["failures"] = sampler.Failures;
            json["replicationLagMs"] = lag;
        }

        return json;
    }

    public string ToText()
    {
        var text = new StringBuilder();
        var length = Options.Operations > 0 ? $"{Options.Operations} operations" : Durations.Describe(Options.Duration);
        text.AppendLine(CultureInfo.InvariantCulture, $"aspirekv bench{(Options.Api == BenchApi.Etcd ? " (etcd API)" : string.Empty)}: {Options.Clients} client{(Options.Clients == 1 ? string.Empty : "s")}{(Options.Rate > 0 ? string.Create(CultureInfo.InvariantCulture, $" at {Options.Rate:0.##} ops/s in all") : string.Empty)} over {string.Join(", ", Targets.Select(t => t.Name))}; {length} per workload after {Durations.Describe(Options.Warmup)} of warm-up; {Options.Keys} keys; {Options.ValueSize}-byte values");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"workload",-18} {"ops",9} {"ops/s",9} {"p50 ms",8} {"p90 ms",8} {"p99 ms",8} {"p99.9 ms",9} {"errors",7}");
        foreach (var r in Results)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{BenchOptions.KindName(r.Kind),-18} {r.Operations,9} {r.OpsPerSecond,9:F0} {Ms(r.Latency, 50),8} {Ms(r.Latency, 90),8} {Ms(r.Latency, 99),8} {Ms(r.Latency, 99.9),9} {r.Errors,7}");
        }

        if (ReplicationLag is { } sampler)
        {
            text.AppendLine();
            text.AppendLine(sampler.Samples > 0
                ? string.Create(CultureInfo.InvariantCulture,
                    $"replication lag (a Put until it is visible on every node): p50 {Ms(sampler.Lag, 50)} ms, p99 {Ms(sampler.Lag, 99)} ms, max {sampler.Lag.MaxMilliseconds():F3} ms ({sampler.Samples} samples)")
                : "replication lag: no sample finished while the Puts ran; run them longer to measure it");
        }

        if (Ratios.Count > 0)
        {
            text.AppendLine();
            foreach (var ratio in Ratios)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{ratio.Name} = {ratio.Value:F2} (target >= {ratio.Target:0.##}: {(ratio.Met ? "met" : "not met")})");
            }
        }

        return text.ToString();
    }

    private static string Ms(HistogramBase histogram, double percentile) =>
        histogram.Milliseconds(percentile).ToString("F3", CultureInfo.InvariantCulture);
}
