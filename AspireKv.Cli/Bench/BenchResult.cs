using System.Text.Json.Nodes;
using HdrHistogram;

namespace AspireKv.Cli.Bench;

/// <summary>The measurement of one workload.</summary>
internal sealed record WorkloadResult(OperationKind Kind, long Operations, long Errors, TimeSpan Elapsed, HistogramBase Latency)
{
    public double OpsPerSecond => Elapsed.TotalSeconds > 0 ? Operations / Elapsed.TotalSeconds : 0;

    public JsonObject ToJson() => new()
    {
        ["kind"] = BenchOptions.KindName(Kind),
        ["operations"] = Operations,
        ["errors"] = Errors,
        ["seconds"] = Math.Round(Elapsed.TotalSeconds, 3),
        ["opsPerSecond"] = Math.Round(OpsPerSecond, 1),
        ["latencyMs"] = LatencyJson(Latency),
    };

    public static JsonObject LatencyJson(HistogramBase histogram) => new()
    {
        ["p50"] = histogram.Milliseconds(50),
        ["p90"] = histogram.Milliseconds(90),
        ["p99"] = histogram.Milliseconds(99),
        ["p99.9"] = histogram.Milliseconds(99.9),
        ["max"] = histogram.MaxMilliseconds(),
    };
}

/// <summary>A ratio measured in the run, against the target design.md sets.</summary>
internal sealed record Ratio(string Name, double Value, double Target)
{
    public bool Met => Value >= Target;
}
