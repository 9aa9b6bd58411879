using System.CommandLine;
using AspireKv.Cli.Bench;
using AspireKv.Cli.Repl;
using AspireKv.Cli.Targeting;
using AspireKv.Cli.Verbs;
using AspireKv.V1;
using Grpc.Core;

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
        var timeout = new Option<TimeSpan>("--timeout")
        {
            Description = "How long to wait for a node (10s, 500ms, 1m).",
            Recursive = true,
            DefaultValueFactory = _ => TimeSpan.FromSeconds(10),
            CustomParser = r => ParseDuration(r.Tokens.Single().Value, "--timeout"),
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
        var ifRevision = new Option<long?>("--if-revision") { Description = "Put only if the key's mod_revision is this (0: only if the key does not exist)." };
        var put = new Command("put", "Set a key to a value.") { putKey, putValue, ifRevision };
        put.Aliases.Add("set");

        var getKey = new Argument<string>("key") { Description = "The key." };
        var get = new Command("get", "Print a key's value (exit code 1 when it does not exist).") { getKey, consistency };

        var delKey = new Argument<string>("key") { Description = "The key (or the prefix, with --prefix)." };
        var delPrefix = new Option<bool>("--prefix") { Description = "Delete every key that starts with KEY." };
        var del = new Command("del", "Delete a key.") { delKey, delPrefix };
        del.Aliases.Add("delete");

        var listPrefix = new Argument<string>("prefix") { Description = "Only keys that start with this.", DefaultValueFactory = _ => string.Empty };
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many keys (0: all)." };
        var keysOnly = new Option<bool>("--keys-only") { Description = "Print keys without values." };
        var listConsistency = new Option<string>("--consistency", "-c") { Description = "linearizable (default) or serializable.", DefaultValueFactory = _ => "linearizable" };
        listConsistency.AcceptOnlyFromAmong("linearizable", "serializable");
        var list = new Command("list", "Print keys and values, sorted (the REPL's PRINT).") { listPrefix, limit, keysOnly, listConsistency };
        list.Aliases.Add("print");

        var status = new Command("status", "Show every node's id, applied revision, health and lag.");
        var repl = new Command("repl", "Start the REPL: SET, GET, DEL, PRINT, USE, HELP, EXIT.");

        var clients = new Option<int>("--clients") { Description = "Concurrent clients (closed loop).", DefaultValueFactory = _ => 16 };
        var duration = new Option<TimeSpan>("--duration", "-d")
        {
            Description = "How long to measure each workload (10s).",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(10),
            CustomParser = r => ParseDuration(r.Tokens.Single().Value, "--duration"),
        };
        var operations = new Option<long>("--ops") { Description = "Measure this many operations per workload instead of a duration." };
        var warmup = new Option<TimeSpan>("--warmup")
        {
            Description = "Warm-up before each workload (2s).",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(2),
            CustomParser = r => ParseDuration(r.Tokens.Single().Value, "--warmup", allowZero: true),
        };
        var keys = new Option<int>("--keys") { Description = "How many distinct keys.", DefaultValueFactory = _ => 1000 };
        var valueSize = new Option<int>("--value-size") { Description = "Value size in bytes.", DefaultValueFactory = _ => 256 };
        var workload = new Option<string>("--workload", "-w")
        {
            Description = "put, get-linearizable, get-serializable or mixed; several with commas run one after the other.",
            DefaultValueFactory = _ => "put",
        };
        var targets = new Option<string?>("--targets") { Description = "The nodes to spread the clients over, with commas (default: every known node)." };
        var baseline = new Option<string?>("--baseline") { Description = "broker: also measure publish + confirm straight to a stream, the ceiling for Puts." };
        baseline.AcceptOnlyFromAmong("broker");
        var broker = new Option<string?>("--broker") { Description = "The broker for --baseline (default: from the AppHost's endpoints file)." };
        var bench = new Command("bench", "Measure throughput and latency.") { clients, duration, operations, warmup, keys, valueSize, workload, targets, baseline, broker };

        root.Subcommands.Add(put);
        root.Subcommands.Add(get);
        root.Subcommands.Add(del);
        root.Subcommands.Add(list);
        root.Subcommands.Add(status);
        root.Subcommands.Add(repl);
        root.Subcommands.Add(bench);

        Output NewOutput(ParseResult p) => new(stdout, stderr, p.GetValue(output) == "json" ? OutputFormat.Json : OutputFormat.Text);
        Task<CliContext> NewContext(ParseResult p) => CliContext.CreateAsync(TargetResolver.FromEnvironment(), p.GetValue(target), p.GetValue(timeout), NewOutput(p));
        Consistency ConsistencyOf(string? value) => value == "serializable" ? Consistency.Serializable : Consistency.Linearizable;

        put.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("put", c, () => KeyValueVerbs.PutAsync(c, p.GetValue(putKey)!, ValueSource.Read(p.GetValue(putValue)!, Console.OpenStandardInput), p.GetValue(ifRevision)))));
        get.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("get", c, () => KeyValueVerbs.GetAsync(c, p.GetValue(getKey)!, ConsistencyOf(p.GetValue(consistency))))));
        del.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("del", c, () => KeyValueVerbs.DeleteAsync(c, p.GetValue(delKey)!, p.GetValue(delPrefix)))));
        list.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("list", c, () => KeyValueVerbs.ListAsync(c, p.GetValue(listPrefix) ?? string.Empty, p.GetValue(limit), p.GetValue(keysOnly), ConsistencyOf(p.GetValue(listConsistency))))));
        status.SetAction((p, _) => Run(stderr, NewContext, p, c => Traced("status", c, () => StatusVerb.RunAsync(c))));
        Task<int> Repl(ParseResult p, CancellationToken ct) =>
            Run(stderr, NewContext, p, c => new ReplSession(c, stdin, interactive: !Console.IsInputRedirected && stdin == Console.In).RunAsync(ct));
        repl.SetAction(Repl);
        root.SetAction(Repl);
        bench.SetAction((p, ct) => Run(stderr, NewContext, p, c => BenchVerb.RunAsync(c, new BenchOptions
        {
            Clients = Positive(p.GetValue(clients), "--clients"),
            Duration = p.GetValue(duration),
            Operations = p.GetValue(operations),
            Warmup = p.GetValue(warmup),
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

        return await parse.InvokeAsync().ConfigureAwait(false);
    }

    /// <summary>Runs a verb, turning failures into a message on stderr and an exit code.</summary>
    private static async Task<int> Run(TextWriter stderr, Func<ParseResult, Task<CliContext>> context, ParseResult parse, Func<CliContext, Task<int>> verb)
    {
        try
        {
            await using var cli = await context(parse).ConfigureAwait(false);
            return await verb(cli).ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            stderr.WriteLine($"error: {ex.Message}");
            return ex.ExitCode;
        }
        catch (RpcException ex)
        {
            stderr.WriteLine($"error: {ex.StatusCode}: {ex.Status.Detail}");
            return ExitCodes.From(ex.StatusCode);
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
        var exitCode = await run().ConfigureAwait(false);
        activity?.SetTag("aspirekv.node", context.Target.Name);
        activity?.SetTag("process.exit.code", exitCode);
        return exitCode;
    }

    private static int Positive(int value, string option) =>
        value > 0 ? value : throw new CliException(ExitCodes.Usage, $"{option} must be 1 or more.");

    private static TimeSpan ParseDuration(string text, string option, bool allowZero = false)
    {
        if (allowZero && text.Trim() is "0" or "0s")
        {
            return TimeSpan.Zero;
        }

        return Durations.TryParse(text, out var value)
            ? value
            : throw new CliException(ExitCodes.Usage, $"{option} '{text}' is not a duration; write it as 500ms, 10s, 2m or 1h.");
    }
}
