using System.Text.Json.Nodes;

namespace AspireKv.Cli.Bench;

/// <summary>The measurement of one workload.</summary>
internal sealed record WorkloadResult(OperationKind Kind, long Operations, long Errors, TimeSpan Elapsed, LatencyHistogram Latency)
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

    public static JsonObject LatencyJson(LatencyHistogram histogram) => new()
    {
        ["p50"] = Milliseconds(histogram.Percentile(50)),
        ["p90"] = Milliseconds(histogram.Percentile(90)),
        ["p99"] = Milliseconds(histogram.Percentile(99)),
        ["p99.9"] = Milliseconds(histogram.Percentile(99.9)),
        ["max"] = Milliseconds(histogram.Count == 0 ? 0 : histogram.Max),
    };

    public static double Milliseconds(long microseconds) => Math.Round(microseconds / 1000.0, 3);
}

/// <summary>A ratio measured in the run, against the target design.md sets.</summary>
internal sealed record Ratio(string Name, double Value, double Target)
{
    public bool Met => Value >= Target;
}
