using System.Diagnostics;
using AspireKv.Cli.Targeting;
using AspireKv.Client;
using AspireKv.V1;
using Google.Protobuf;
using Grpc.Core;
using HdrHistogram;

namespace AspireKv.Cli.Bench;

/// <summary>
/// A closed-loop benchmark: each of N clients issues one operation, waits for it, and issues the
/// next, against the nodes in turn. Each workload gets a warm-up, then a measured run.
/// </summary>
internal sealed class BenchRunner(BenchOptions options, IReadOnlyList<Target> targets, Func<Uri, KvClient> clients, Func<Uri, Etcd.KV.KVClient> etcdClients, TextWriter progress)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken)
    {
        var keys = Enumerable.Range(0, options.Keys).Select(i => $"bench/{i:D7}").ToArray();
        var value = ByteString.CopyFrom(RandomValue(options.ValueSize));
        var keyBytes = keys.Select(ByteString.CopyFromUtf8).ToArray();
        var results = new List<WorkloadResult>();
        var lag = new ReplicationLagSampler(targets, clients);

        if (options.BrokerBaseline)
        {
            progress.WriteLine($"broker-baseline: publish + confirm to a stream like the log, {options.Clients} publishers...");
            results.Add(await BrokerBaseline.RunAsync(options, ResolveBroker(), cancellationToken).ConfigureAwait(false));
        }

        var populated = !options.Populate;
        var sampled = false;
        foreach (var kind in options.Workloads)
        {
            if (kind != OperationKind.Put && !populated)
            {
                progress.WriteLine($"Writing {keys.Length} keys for the reads...");
                await PopulateAsync(keys, keyBytes, value, cancellationToken).ConfigureAwait(false);
                populated = true;
            }

            progress.WriteLine($"{BenchOptions.KindName(kind)}: warming up for {Durations.Describe(options.Warmup)}...");
            await RunWorkloadAsync(kind, keys, keyBytes, value, options.Warmup, 0, cancellationToken).ConfigureAwait(false);

            progress.WriteLine($"{BenchOptions.KindName(kind)}: measuring {(options.Operations > 0 ? $"{options.Operations} operations" : Durations.Describe(options.Duration))}...");
            using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var samples = kind is OperationKind.Put or OperationKind.Mixed && targets.Count > 1 && options.Api == BenchApi.Native;
            sampled |= samples;
            var sampler = samples ? lag.RunAsync(sampling.Token) : Task.CompletedTask;
            var result = await RunWorkloadAsync(kind, keys, keyBytes, value, options.Duration, options.Operations, cancellationToken).ConfigureAwait(false);
            await sampling.CancelAsync().ConfigureAwait(false);
            await sampler.ConfigureAwait(false);
            results.Add(result);
        }

        return new BenchReport(options, targets, results, sampled ? lag : null);
    }

    /// <summary>The broker to measure; of a cluster's list (comma-separated URIs), the first.</summary>
    private string ResolveBroker() =>
        options.BrokerConnectionString?.Split(',', StringSplitOptions.TrimEntries)[0]
        ?? throw new CliException(ExitCodes.Usage, "--baseline broker needs the broker: run it next to an AppHost (its endpoints file names the broker) or pass --broker amqp://user:pass@host:port.");

    private Task<WorkloadResult> RunWorkloadAsync(OperationKind kind, string[] keys, ByteString[] keyBytes, ByteString value, TimeSpan duration, long operations, CancellationToken cancellationToken) =>
        ClosedLoop.RunAsync(kind, options.Clients, duration, operations, options.Rate, i =>
        {
            var address = targets[i % targets.Count].Address;
            var random = new Random(unchecked((i * 7919) + Environment.TickCount));
            OperationKind Pick() => kind == OperationKind.Mixed ? (OperationKind)random.Next(3) : kind;
            if (options.Api == BenchApi.Etcd)
            {
                // etcd's KV API, as etcd's own benchmark tool calls it: a Range is linearizable unless it asks to be serializable.
                var etcd = etcdClients(address);
                return () =>
                {
                    var key = keyBytes[random.Next(keyBytes.Length)];
                    return Pick() switch
                    {
                        OperationKind.Put => etcd.PutAsync(new Etcd.PutRequest { Key = key, Value = value }, deadline: Deadline()).ResponseAsync,
                        OperationKind.GetLinearizable => etcd.RangeAsync(new Etcd.RangeRequest { Key = key }, deadline: Deadline()).ResponseAsync,
                        _ => etcd.RangeAsync(new Etcd.RangeRequest { Key = key, Serializable = true }, deadline: Deadline()).ResponseAsync,
                    };
                };
            }

            var client = clients(address);
            return () =>
            {
                var key = keys[random.Next(keys.Length)];
                return Pick() switch
                {
                    OperationKind.Put => client.PutAsync(new PutRequest { Key = key, Value = value }, CallTimeout),
                    OperationKind.GetLinearizable => client.GetAsync(key, Consistency.Linearizable, CallTimeout),
                    _ => client.GetAsync(key, Consistency.Serializable, CallTimeout),
                };
            };
        }, ex => ex is RpcException, cancellationToken);

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;

    private async Task PopulateAsync(string[] keys, ByteString[] keyBytes, ByteString value, CancellationToken cancellationToken)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(options.Clients, 64)).Select(i => Task.Run(async () =>
        {
            var address = targets[i % targets.Count].Address;
            int index;
            while ((index = Interlocked.Increment(ref next)) < keys.Length)
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        if (options.Api == BenchApi.Etcd)
                        {
                            await etcdClients(address).PutAsync(new Etcd.PutRequest { Key = keyBytes[index], Value = value }, deadline: Deadline(), cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
                        }
                        else
                        {
                            await clients(address).PutAsync(new PutRequest { Key = keys[index], Value = value }, CallTimeout, cancellationToken).ConfigureAwait(false);
                        }

                        break;
                    }
                    catch (RpcException ex) when (attempt < 5 && ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
                    {
                        await Task.Delay(200 * attempt, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }, cancellationToken))).ConfigureAwait(false);
    }

    private static byte[] RandomValue(int size)
    {
        // Printable, so that the values read well in the CLI and the dashboard.
        var bytes = new byte[size];
        var random = new Random(42);
        for (var i = 0; i < size; i++)
        {
            bytes[i] = (byte)random.Next('a', 'z' + 1);
        }

        return bytes;
    }
}

/// <summary>Samples how long a Put takes to become visible on every node, while a workload runs.</summary>
internal sealed class ReplicationLagSampler(IReadOnlyList<Target> targets, Func<Uri, KvClient> clients)
{
    public LongHistogram Lag { get; } = Latencies.Create();

    public int Samples { get; private set; }

    public int Failures { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var origin = targets[i % targets.Count];
            var key = $"bench/lag/{Guid.NewGuid():N}";
            var begin = Stopwatch.GetTimestamp();
            try
            {
                await clients(origin.Address).PutAsync(key, "lag", timeout: TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                var waiting = targets.Where(t => t != origin).ToList();
                while (waiting.Count > 0 && Stopwatch.GetElapsedTime(begin) < TimeSpan.FromSeconds(10))
                {
                    foreach (var node in waiting.ToList())
                    {
                        var got = await clients(node.Address).GetAsync(key, Consistency.Serializable, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                        if (got.Found)
                        {
                            waiting.Remove(node);
                        }
                    }
                }

                if (waiting.Count == 0)
                {
                    Lag.Record(Stopwatch.GetElapsedTime(begin));
                    Samples++;
                }
                else
                {
                    Failures++;
                }

                await clients(origin.Address).DeleteAsync(key, timeout: TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                await Task.Delay(100, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (RpcException)
            {
                Failures++;
            }
        }
    }
}
