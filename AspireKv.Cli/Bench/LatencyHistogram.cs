using System.Numerics;

namespace AspireKv.Cli.Bench;

/// <summary>
/// A latency histogram in microseconds with a relative error under 0.1%, in the manner of
/// HdrHistogram (which this feed lacks): exact buckets below 2048 µs, then 1024 sub-buckets per
/// power of two. Recording is allocation-free; one histogram per client, merged at the end.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBuckets = 1024;
    private const int ExactLimit = 2 * SubBuckets;
    private const int MaxMagnitude = 40; // about 12 days in microseconds
    private readonly long[] _counts = new long[ExactLimit + ((MaxMagnitude - 11 + 1) * SubBuckets)];

    public long Count { get; private set; }

    public long Max { get; private set; }

    public long Min { get; private set; } = long.MaxValue;

    public void Record(long microseconds)
    {
        microseconds = Math.Clamp(microseconds, 0, (1L << MaxMagnitude) - 1);
        _counts[IndexOf(microseconds)]++;
        Count++;
        Max = Math.Max(Max, microseconds);
        Min = Math.Min(Min, microseconds);
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        Max = Math.Max(Max, other.Max);
        Min = Math.Min(Min, other.Min);
    }

    /// <summary>The value at <paramref name="percentile"/> (0–100): the highest value of the bucket it falls in, capped at the maximum seen.</summary>
    public long Percentile(double percentile)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(percentile / 100.0 * Count));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestValueIn(i), Max);
            }
        }

        return Max;
    }

    internal static int IndexOf(long value)
    {
        if (value < ExactLimit)
        {
            return (int)value;
        }

        var magnitude = 63 - BitOperations.LeadingZeroCount((ulong)value); // 11 or more
        var shift = magnitude - 10;
        return ExactLimit + ((magnitude - 11) * SubBuckets) + (int)((value >> shift) - SubBuckets);
    }

    internal static long HighestValueIn(int index)
    {
        if (index < ExactLimit)
        {
            return index;
        }

        var magnitude = ((index - ExactLimit) / SubBuckets) + 11;
        var sub = ((index - ExactLimit) % SubBuckets) + SubBuckets;
        var shift = magnitude - 10;
        return ((long)(sub + 1) << shift) - 1;
    }
}
