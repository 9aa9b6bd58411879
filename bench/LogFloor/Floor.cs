using HdrHistogram;

namespace AspireKv.Bench.LogFloor;

/// <summary>One protocol's publisher and consumer of one fresh stream.</summary>
internal interface IFloorProbe : IAsyncDisposable
{
    /// <summary>Called with the publish's start timestamp when its confirm arrives.</summary>
    Action<long>? Confirmed { get; set; }

    /// <summary>Called with each delivered message's body.</summary>
    Action<ReadOnlySpan<byte>>? Delivered { get; set; }

    /// <summary>Connects, creates the stream and starts the consumer.</summary>
    Task StartAsync();

    /// <summary>Publishes with <paramref name="inFlight"/> messages waiting for a confirm at a time, until stopped; each body starts with its publish timestamp.</summary>
    Task RunAsync(int inFlight, byte[] body, CancellationToken stop);
}

internal sealed class FloorStats
{
    public readonly LongHistogram Confirm = new(60_000_000, 3); // microseconds, up to 60 s

    public readonly LongHistogram Delivery = new(60_000_000, 3);

    public long Confirmed;
}

/// <summary>The command line.</summary>
internal sealed record FloorOptions(string Protocol, string Amqp, string Stream, string User, string Password, int InFlight, int Seconds, int Warmup, int Size, int Replicas, IReadOnlyList<int> BrokerPids)
{
    public const string Usage =
        "usage: LogFloor --protocol amqp|stream|hybrid [--amqp amqp://user:pass@host:port] [--stream host:port] [--user U --password P]\n" +
        "                [--in-flight N] [--seconds S] [--warmup S] [--size BYTES] [--replicas N] [--broker-pids p1,p2,...]";

    public static FloorOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        if (args.Length % 2 != 0)
        {
            return null;
        }

        string Text(string key, string fallback) => values.GetValueOrDefault(key, fallback);
        int Number(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v) : fallback;
        var protocol = Text("protocol", "stream");
        if (protocol is not ("amqp" or "stream" or "hybrid"))
        {
            return null;
        }

        var pids = Text("broker-pids", string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        return new FloorOptions(protocol, Text("amqp", "amqp://guest:guest@127.0.0.1:5672"), Text("stream", "127.0.0.1:5552"),
            Text("user", "guest"), Text("password", "guest"), Number("in-flight", 1), Number("seconds", 10), Number("warmup", 3),
            Math.Max(8, Number("size", 336)), Number("replicas", 1), pids);
    }
}

/// <summary>The broker processes' CPU time from /proc, in clock ticks.</summary>
internal static class BrokerCpu
{
    public const double TicksPerSecond = 100; // USER_HZ on Linux

    public static long Ticks(IReadOnlyList<int> pids)
    {
        long total = 0;
        foreach (var pid in pids)
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            total += long.Parse(fields[11]) + long.Parse(fields[12]); // utime, stime
        }

        return total;
    }
}
