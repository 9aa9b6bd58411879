using HdrHistogram;

namespace AspireKv.Cli.Bench;

/// <summary>Latency histograms in microseconds (HdrHistogram, three significant digits: under 0.1% error).</summary>
internal static class Latencies
{
    /// <summary>The longest latency recorded exactly: an hour.</summary>
    private const long HighestMicroseconds = 3_600_000_000L;

    /// <summary>A new histogram. Recording into one is not thread-safe: each client keeps its own, and they are merged at the end.</summary>
    public static LongHistogram Create() => new(HighestMicroseconds, 3);

    public static void Record(this HistogramBase histogram, TimeSpan elapsed) =>
        histogram.RecordValue(Math.Clamp((long)elapsed.TotalMicroseconds, 0, HighestMicroseconds));

    /// <summary>The latency at <paramref name="percentile"/> (0–100) in milliseconds, or 0 with no samples.</summary>
    public static double Milliseconds(this HistogramBase histogram, double percentile) =>
        histogram.TotalCount == 0 ? 0 : Math.Round(histogram.GetValueAtPercentile(percentile) / 1000.0, 3);

    /// <summary>The largest latency in milliseconds, or 0 with no samples.</summary>
    public static double MaxMilliseconds(this HistogramBase histogram) =>
        histogram.TotalCount == 0 ? 0 : Math.Round(histogram.GetMaxValue() / 1000.0, 3);
}
