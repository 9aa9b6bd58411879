using System.Buffers.Binary;
using System.Diagnostics;
using AspireKv.Bench.LogFloor;

// The broker's floor for the replication log: how fast one publisher gets confirms and one
// consumer gets deliveries on one stream, and the broker's CPU per message, over AMQP 0.9.1 (as
// the log publishes today) and over RabbitMQ's stream protocol.
var options = FloorOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(FloorOptions.Usage);
    return 2;
}

IFloorProbe probe = options.Protocol is "stream" or "hybrid" ? new StreamFloorProbe(options) : new AmqpFloorProbe(options);
await using (probe)
{
    await probe.StartAsync();
    var body = new byte[options.Size];
    var measuring = false;
    var stats = new FloorStats();
    probe.Confirmed = started => { if (measuring) { stats.Confirm.RecordValue(Math.Max(1, Stopwatch.GetElapsedTime(started).Ticks / 10)); Interlocked.Increment(ref stats.Confirmed); } };
    probe.Delivered = payload =>
    {
        if (measuring && payload.Length >= 8)
        {
            var started = BinaryPrimitives.ReadInt64LittleEndian(payload);
            stats.Delivery.RecordValue(Math.Max(1, Stopwatch.GetElapsedTime(started).Ticks / 10));
        }
    };

    using var stop = new CancellationTokenSource();
    var publisher = probe.RunAsync(options.InFlight, body, stop.Token);
    await Task.Delay(TimeSpan.FromSeconds(options.Warmup));
    var cpuBefore = BrokerCpu.Ticks(options.BrokerPids);
    var clock = Stopwatch.StartNew();
    measuring = true;
    await Task.Delay(TimeSpan.FromSeconds(options.Seconds));
    measuring = false;
    var elapsed = clock.Elapsed;
    var cpuTicks = BrokerCpu.Ticks(options.BrokerPids) - cpuBefore;
    stop.Cancel();
    await publisher;

    var confirmed = Interlocked.Read(ref stats.Confirmed);
    var rate = confirmed / elapsed.TotalSeconds;
    var cpuPerMessage = options.BrokerPids.Count == 0 || confirmed == 0 ? double.NaN : cpuTicks * 1_000_000.0 / BrokerCpu.TicksPerSecond / confirmed;
    Console.WriteLine(
        $"{options.Protocol,-6} in-flight {options.InFlight,3}: {rate,9:N0} msg/s  confirm p50 {Ms(stats.Confirm, 50)} p99 {Ms(stats.Confirm, 99)} ms  " +
        $"delivery p50 {Ms(stats.Delivery, 50)} p99 {Ms(stats.Delivery, 99)} ms  broker CPU {cpuPerMessage:F1} µs/msg");
}

return 0;

static string Ms(HdrHistogram.LongHistogram histogram, double percentile) =>
    histogram.TotalCount == 0 ? "-" : (histogram.GetValueAtPercentile(percentile) / 1000.0).ToString("F2");
