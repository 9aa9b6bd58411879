using System.CommandLine;
using AspireKv.Cli.Bench;
using AspireKv.Cli.Coordination;
using AspireKv.Cli.Repl;
using AspireKv.Cli.Targeting;
using AspireKv.Cli.Verbs;
using AspireKv.V1;

namespace AspireKv.Cli;

/// <summary>The <c>aspirekv</c> command line: verbs, options, and exit codes.</summary>
internal static class CliApp
{
    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var target = new Option<string?>("--target", "-t")
        {
            Description = "The node: a name (node2) from the AppHost's .aspirekv/endpoints.json or services__ settings, or an address (127.0.0.1:5001). Default: the first known node.",
            Recursive = true,
        };
        var output = new Option<string>("--output", "-o")
        {
            Description = "text or json.",
            Recursive = true,
            DefaultValueFactory = _ => "text",
        };
        output.AcceptOnlyFromAmong("text", "json");
        var timeout = new Option<TimeSpan?>("--timeout")
        {
            Description = "How long to wait for a node: 500ms, 10s, 1m, more than 0 [default: 10s].",
            Recursive = true,
            CustomParser = r => ParseDuration(r, "--timeout"),
        };
        var consistency = new Option<string>("--consistency", "-c")
        {
            Description = "linearizable (default) or serializable.",
            DefaultValueFactory = _ => "linearizable",
        };
        consistency.AcceptOnlyFromAmong("linearizable", "serializable");

        var root = new RootCommand("aspirekv: the AspireKv command line. With no command it starts the REPL (SET, GET, PRINT, ...).") { target, output, timeout };

        var putKey = new Argument<string>("key") { Description = "The key." };
        var putValue = new Argument<string>("value") { Description = "The value; - reads it from stdin, @path from a file." };
        var ifRevision = new Option<long?>("--if-revision")
        {
            Description = "Put only if the key's mod_revision is this (0: only if the key does not exist).",
            CustomParser = r => ParseRevision(r, "--if-revision"),
        };
        var putLease = new Option<string?>("--lease") { Description = "Attach the key to this lease (a hexadecimal id from 'lease grant'): it is deleted when the lease ends." };
        var put = new Command("put", "Set a key to a value.") { putKey, putValue, ifRevision, putLease };
        put.Aliases.Add("set");

        var getKey = new Argument<string>("key") { Description = "The key." };
        var get = new Command("get", "Print a key's value (exit code 1 when it does not exist).") { getKey, consistency };

        var delKey = new Argument<string>("key") { Description = "The key (or the prefix, with --prefix)." };
        var delPrefix = new Option<bool>("--prefix") { Description = "Delete every key that starts with KEY." };
        var del = new Command("del", "Delete a key.") { delKey, delPrefix };
        del.Aliases.Add("delete");

        var listPrefix = new Argument<string>("prefix") { Description = "Only keys that start with this.", DefaultValueFactory = _ => string.Empty };
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many keys (0: all)." };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--limit must be 0 (all) or more.");
            }
        });
        var keysOnly = new Option<bool>("--keys-only") { Description = "Print keys without values." };
        var listConsistency = new Option<string>("--consistency", "-c") { Description = "linearizable (default) or serializable.", DefaultValueFactory = _ => "linearizable" };
        listConsistency.AcceptOnlyFromAmong("linearizable", "serializable");
        var list = new Command("list", "Print keys and values, sorted (the REPL's PRINT).") { listPrefix, limit, keysOnly, listConsistency };
        list.Aliases.Add("print");

        var watchKey = new Argument<string>("key") { Description = "The key (or the prefix, with --prefix; \"\" with --prefix is every key)." };
        var watchPrefix = new Option<bool>("--prefix") { Description = "Watch every key that starts with KEY." };
        var watchRevision = new Option<long>("--rev") { Description = "Start from this revision, replaying what the history still holds (0: from now on)." };
        var watchPrevious = new Option<bool>("--prev") { Description = "Print each event with the value before it." };
        var watch = new Command("watch", "Print changes to a key or prefix as they happen, until Ctrl+C (-o json: one object per line).") { watchKey, watchPrefix, watchRevision, watchPrevious };

        var txnFile = new Option<string?>("--file", "-f") { Description = "Read the transaction from this JSON file (the JSON form of aspirekv.v1.TxnRequest) instead of stdin." };
        var txn = new Command("txn", "Run a transaction read from stdin in etcdctl's syntax: compares, a blank line, success requests, a blank line, failure requests.") { txnFile };

        var historyKey = new Argument<string>("key") { Description = "The key." };
        var historyConsistency = new Option<string>("--consistency", "-c") { Description = "linearizable (default) or serializable.", DefaultValueFactory = _ => "linearizable" };
        historyConsistency.AcceptOnlyFromAmong("linearizable", "serializable");
        var history = new Command("history", "Print a key's past versions that the history still holds, oldest first.") { historyKey, historyConsistency };

        var compactRevision = new Argument<long>("revision") { Description = "The oldest revision that history, watches and reads at a revision may still ask for." };
        var compact = new Command("compact", "Drop the history before a revision, on every node.") { compactRevision };

        var leaseTtl = new Argument<string>("ttl") { Description = "The time to live: seconds (10) or a duration (10s, 1m)." };
        var leaseGrant = new Command("grant", "Grant a lease and print its id.") { leaseTtl };
        var keepAliveId = new Argument<string>("id") { Description = "The lease id (hexadecimal)." };
        var keepAliveOnce = new Option<bool>("--once") { Description = "Keep it alive once and exit." };
        var leaseKeepAlive = new Command("keepalive", "Keep a lease alive until Ctrl+C.") { keepAliveId, keepAliveOnce };
        var revokeId = new Argument<string>("id") { Description = "The lease id (hexadecimal)." };
        var leaseRevoke = new Command("revoke", "Revoke a lease and delete its keys.") { revokeId };
        var ttlId = new Argument<string>("id") { Description = "The lease id (hexadecimal)." };
        var ttlKeys = new Option<bool>("--keys") { Description = "Also print the keys attached to it." };
        var leaseTimeToLive = new Command("ttl", "Print a lease's granted and remaining time to live.") { ttlId, ttlKeys };
        leaseTimeToLive.Aliases.Add("timetolive");
        var leaseList = new Command("list", "Print every lease.");
        var lease = new Command("lease", "Leases: keys that live only as long as their lease is kept alive.") { leaseGrant, leaseKeepAlive, leaseRevoke, leaseTimeToLive, leaseList };

        var status = new Command("status", "Show every node's id, applied revision, health and lag.");
        var repl = new Command("repl", "Start the REPL: SET, GET, DEL, PRINT, WATCH, HISTORY, USE, HELP, EXIT.");

        var clients = new Option<int>("--clients") { Description = "Concurrent clients (closed loop).", DefaultValueFactory = _ => 16 };
        var duration = new Option<TimeSpan?>("--duration", "-d")
        {
            Description = "How long to measure each workload, more than 0 [default: 10s].",
            CustomParser = r => ParseDuration(r, "--duration"),
        };
        var rate = new Option<int>("--rate") { Description = "The most operations per second of all the clients together, each client on a fixed schedule; 0 for no limit [default: 0]." };
        var operations = new Option<long>("--ops") { Description = "Measure this many operations per workload instead of a duration." };
        var warmup = new Option<TimeSpan?>("--warmup")
        {
            Description = "Warm-up before each workload; 0s for none [default: 2s].",
            CustomParser = r => ParseDuration(r, "--warmup", allowZero: true),
        };
        var keys = new Option<int>("--keys") { Description = "How many distinct keys.", DefaultValueFactory = _ => 1000 };
        var valueSize = new Option<int>("--value-size") { Description = "Value size in bytes.", DefaultValueFactory = _ => 256 };
        var workload = new Option<string>("--workload", "-w")
        {
            Description = "put, get-linearizable, get-serializable or mixed; several with commas run one after the other.",
            DefaultValueFactory = _ => "put",
        };
        var targets = new Option<string?>("--targets") { Description = "The nodes to spread the clients over, with commas (default: every known node); with --api etcd, etcd members too (127.0.0.1:2379,...)." };
        var api = new Option<string>("--api") { Description = "native (AspireKv's API) or etcd (etcd's v3 KV API: etcd itself, or a node's etcd endpoint).", DefaultValueFactory = _ => "native" };
        api.AcceptOnlyFromAmong("native", "etcd");
        var noPopulate = new Option<bool>("--no-populate") { Description = "Do not write the keys before the reads: an earlier run wrote them." };
        var baseline = new Option<string?>("--baseline") { Description = "broker: also measure publish + confirm straight to a stream, the ceiling for Puts." };
        baseline.AcceptOnlyFromAmong("broker");
        var broker = new Option<string?>("--broker") { Description = "The broker for --baseline (default: from the AppHost's endpoints file)." };
        var bench = new Command("bench", "Measure throughput and latency.") { clients, rate, duration, operations, warmup, keys, valueSize, workload, targets, api, noPopulate, baseline, broker };

        root.Subcommands.Add(put);
        root.Subcommands.Add(get);
        root.Subcommands.Add(del);
        root.Subcommands.Add(list);
        root.Subcommands.Add(watch);
        root.Subcommands.Add(txn);
        root.Subcommands.Add(history);
        root.Subcommands.Add(compact);
        root.Subcommands.Add(lease);
        root.Subcommands.Add(status);
        root.Subcommands.Add(repl);
        root.Subcommands.Add(bench);

        Output NewOutput(ParseResult p) => new(stdout, stderr, p.GetValue(output) == "json" ? OutputFormat.Json : OutputFormat.Text);
        Task<CliContext> NewContext(ParseResult p) => CliContext.CreateAsync(TargetResolver.FromEnvironment(), p.GetValue(target), p.GetValue(timeout) ?? TimeSpan.FromSeconds(10), NewOutput(p));
        Consistency ConsistencyOf(string? value) => value == "serializable" ? Consistency.Serializable : Consistency.Linearizable;

        put.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("put", c, () => KeyValueVerbs.PutAsync(c, p.GetValue(putKey)!, ValueSource.Read(p.GetValue(putValue)!, Console.OpenStandardInput), p.GetValue(ifRevision), p.GetValue(putLease) is { } id ? LeaseIds.Parse(id) : 0))));
        get.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("get", c, () => KeyValueVerbs.GetAsync(c, p.GetValue(getKey)!, ConsistencyOf(p.GetValue(consistency))))));
        del.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("del", c, () => KeyValueVerbs.DeleteAsync(c, p.GetValue(delKey)!, p.GetValue(delPrefix)))));
        list.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("list", c, () => KeyValueVerbs.ListAsync(c, p.GetValue(listPrefix) ?? string.Empty, p.GetValue(limit), p.GetValue(keysOnly), ConsistencyOf(p.GetValue(listConsistency))))));
        watch.SetAction((p, ct) => Run(stderr, NewContext, p, async c =>
        {
            using var interrupts = Interrupts.Catch(ct);
            var request = new WatchRequest { Key = p.GetValue(watchKey)!, Prefix = p.GetValue(watchPrefix), StartRevision = NotNegative(p.GetValue(watchRevision), "--rev"), Previous = p.GetValue(watchPrevious) };
            return await WatchVerb.RunAsync(c, request, interrupts.Token).ConfigureAwait(false);
        }));
        txn.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("txn", c, () => TxnVerb.RunAsync(c, stdin, interactive: !Console.IsInputRedirected && stdin == Console.In, p.GetValue(txnFile)))));
        history.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("history", c, () => HistoryVerbs.HistoryAsync(c, p.GetValue(historyKey)!, ConsistencyOf(p.GetValue(historyConsistency))))));
        compact.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("compact", c, () => HistoryVerbs.CompactAsync(c, p.GetValue(compactRevision)))));
        leaseGrant.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("lease grant", c, () => LeaseVerbs.GrantAsync(c, ParseTtl(p.GetValue(leaseTtl)!)))));
        leaseKeepAlive.SetAction((p, ct) => Run(stderr, NewContext, p, async c =>
        {
            using var interrupts = Interrupts.Catch(ct);
            return await LeaseVerbs.KeepAliveAsync(c, LeaseIds.Parse(p.GetValue(keepAliveId)!), p.GetValue(keepAliveOnce), interrupts.Token).ConfigureAwait(false);
        }));
        leaseRevoke.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("lease revoke", c, () => LeaseVerbs.RevokeAsync(c, LeaseIds.Parse(p.GetValue(revokeId)!)))));
        leaseTimeToLive.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("lease ttl", c, () => LeaseVerbs.TimeToLiveAsync(c, LeaseIds.Parse(p.GetValue(ttlId)!), p.GetValue(ttlKeys)))));
        leaseList.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("lease list", c, () => LeaseVerbs.ListAsync(c))));
        status.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("status", c, () => StatusVerb.RunAsync(c))));
        Task<int> Repl(ParseResult p, CancellationToken ct) =>
            Run(stderr, NewContext, p, c => new ReplSession(c, stdin, interactive: !Console.IsInputRedirected && stdin == Console.In).RunAsync(ct));
        repl.SetAction(Repl);
        root.SetAction(Repl);
        bench.SetAction((p, ct) => Run(stderr, NewContext, p, c => BenchVerb.RunAsync(c, new BenchOptions
        {
            Clients = Positive(p.GetValue(clients), "--clients"),
            Rate = p.GetValue(rate) >= 0 ? p.GetValue(rate) : throw new CliException(ExitCodes.Usage, "--rate must be 0 (no limit) or more operations per second."),
            Api = p.GetValue(api) == "etcd" ? BenchApi.Etcd : BenchApi.Native,
            Populate = !p.GetValue(noPopulate),
            Duration = p.GetValue(duration) ?? TimeSpan.FromSeconds(10),
            Operations = p.GetValue(operations),
            Warmup = p.GetValue(warmup) ?? TimeSpan.FromSeconds(2),
            Keys = Positive(p.GetValue(keys), "--keys"),
            ValueSize = p.GetValue(valueSize) >= 0 ? p.GetValue(valueSize) : throw new CliException(ExitCodes.Usage, "--value-size must be 0 or more."),
            Workloads = [.. p.GetValue(workload)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(BenchOptions.ParseKind)],
            BrokerBaseline = p.GetValue(baseline) == "broker",
            BrokerConnectionString = p.GetValue(broker) ?? c.Resolver.Endpoints?.Resources.Values.FirstOrDefault(r => r.Type == "rabbitmq")?.ConnectionString,
        }, p.GetValue(targets), ct)));

        // "@path" is a value read from a file here, not a response file of more arguments.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                stderr.WriteLine($"error: {error.Message}");
            }

            stderr.WriteLine("Try 'aspirekv --help'.");
            return ExitCodes.Usage;
        }

        // Ctrl+C ends a command at once, as in any CLI; watch, lease keepalive and the REPL's WATCH catch it themselves (Interrupts).
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }

    /// <summary>Runs a verb, turning failures into a message on stderr and an exit code.</summary>
    private static async Task<int> Run(TextWriter stderr, Func<ParseResult, Task<CliContext>> context, ParseResult parse, Func<CliContext, Task<int>> verb)
    {
        try
        {
            await using var cli = await context(parse).ConfigureAwait(false);
            try
            {
                return await verb(cli).ConfigureAwait(false);
            }
            catch (Exception ex) when (CliErrors.Explain(ex, cli) is { } failure)
            {
                stderr.WriteLine($"error: {failure.Message}");
                return failure.ExitCode;
            }
        }
        catch (CliException ex)
        {
            // Before there is a node to talk to: a target that cannot be resolved.
            stderr.WriteLine($"error: {ex.Message}");
            return ex.ExitCode;
        }
        catch (InvalidDataException ex)
        {
            stderr.WriteLine($"error: {ex.Message}");
            return ExitCodes.Usage;
        }
    }

    /// <summary>Runs a one-shot verb under a span of its own, exported when there is somewhere to export to.</summary>
    private static async Task<int> Traced(string verb, CliContext context, Func<Task<int>> run)
    {
        using var telemetry = CliTelemetry.Start(context.Resolver);
        using var activity = CliTelemetry.Source.StartActivity($"aspirekv {verb}", System.Diagnostics.ActivityKind.Internal);
        activity?.SetTag("aspirekv.node", context.Target.Name);
        try
        {
            var exitCode = await run().ConfigureAwait(false);
            activity?.SetTag("process.exit.code", exitCode);
            return exitCode;
        }
        catch (Exception ex) when (activity is not null && CliErrors.Explain(ex, context) is { } failure)
        {
            // The command failed: its span says why, as the dashboard's span details show.
            activity.SetTag("process.exit.code", failure.ExitCode);
            activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error, failure.Message);
            activity.AddException(ex);
            throw;
        }
    }

    private static long NotNegative(long value, string option) =>
        value >= 0 ? value : throw new CliException(ExitCodes.Usage, $"{option} must be 0 or more.");

    /// <summary>A lease's TTL: whole seconds as etcdctl takes them, or a duration.</summary>
    private static TimeSpan ParseTtl(string text)
    {
        var ttl = long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : Durations.TryParse(text, out var duration) ? duration : TimeSpan.Zero;
        return ttl >= TimeSpan.FromSeconds(1)
            ? ttl
            : throw new CliException(ExitCodes.Usage, $"TTL '{text}' is not a time to live; write seconds (10) or a duration (10s, 1m), 1 second or more.");
    }

    private static int Positive(int value, string option) =>
        value > 0 ? value : throw new CliException(ExitCodes.Usage, $"{option} must be 1 or more.");

    /// <summary>
    /// A duration option. A bad one is a parse error (usage, exit code 2), never an exception:
    /// System.CommandLine runs custom parsers outside any verb's error handling.
    /// </summary>
    private static TimeSpan? ParseDuration(System.CommandLine.Parsing.ArgumentResult result, string option, bool allowZero = false)
    {
        var text = result.Tokens.Single().Value;
        if (allowZero && text.Trim() is "0" or "0s" or "0ms")
        {
            return TimeSpan.Zero;
        }

        if (Durations.TryParse(text, out var value))
        {
            return value;
        }

        result.AddError($"{option} '{text}' is not a duration; write it as 500ms, 10s, 2m or 1h{(allowZero ? ", or 0s" : ", more than 0")}.");
        return null;
    }

    /// <summary>A whole-number option whose bad value says what was expected, not a .NET type name.</summary>
    private static long? ParseRevision(System.CommandLine.Parsing.ArgumentResult result, string option)
    {
        var text = result.Tokens.Single().Value;
        if (long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        result.AddError($"{option} '{text}' is not a revision; write a whole number, 0 or more.");
        return null;
    }
}
