using Grpc.Core;

namespace AspireKv.Cli.Repl;

/// <summary>
/// The seed's REPL (SET, GET, PRINT), plus DEL, USE, HELP and EXIT. Commands are
/// case-insensitive. A bad line prints its usage and a failing node prints an error; either
/// way the session goes on. It reads any stdin, so scripts can drive it.
/// </summary>
internal sealed class ReplSession(CliContext context, TextReader input, bool interactive)
{
    private const string Help = """
        SET key value    set key to value (the rest of the line; "quotes" keep spaces)
        GET key          print key's value
        DEL key          delete key
        PRINT [prefix]   print every key and value, sorted
        WATCH key [--prefix]
                         print changes to key (or every key under it) as they happen, until Ctrl+C
        HISTORY key      print key's past versions, oldest first
        USE node         talk to another node (a name such as node3, or host:port)
        HELP             show this
        EXIT | QUIT      leave
        """;

    private static readonly Dictionary<string, string> Usage = new()
    {
        ["SET"] = "usage: SET key value",
        ["GET"] = "usage: GET key",
        ["DEL"] = "usage: DEL key",
        ["PRINT"] = "usage: PRINT [prefix]",
        ["USE"] = "usage: USE node",
        ["WATCH"] = "usage: WATCH key [--prefix]",
        ["HISTORY"] = "usage: HISTORY key",
    };

    private TextWriter Out => context.Output.Out;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (interactive)
        {
            Out.WriteLine($"aspirekv: talking to {context.Target}. Type HELP for commands, EXIT to leave.");
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            if (interactive)
            {
                Out.Write($"{context.Target.Name}> ");
                Out.Flush();
            }

            var line = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                break;
            }

            ReplLine? parsed;
            try
            {
                parsed = ReplLine.Parse(line);
            }
            catch (FormatException ex)
            {
                Out.WriteLine($"(error) {ex.Message}");
                continue;
            }

            if (parsed is null)
            {
                continue;
            }

            if (parsed.Command is "EXIT" or "QUIT")
            {
                break;
            }

            try
            {
                await ExecuteAsync(parsed).ConfigureAwait(false);
            }
            catch (RpcException ex)
            {
                Out.WriteLine($"(error) {ex.StatusCode}: {ex.Status.Detail}");
            }
            catch (Exception ex) when (ex is CliException or FormatException or ArgumentException or InvalidDataException)
            {
                Out.WriteLine($"(error) {ex.Message}");
            }

            Out.Flush();
        }

        return ExitCodes.Ok;
    }

    private async Task ExecuteAsync(ReplLine line)
    {
        switch (line.Command)
        {
            case "SET" when line.KeyAndValue() is var (key, value):
                var put = await context.CallAsync(c => c.PutAsync(key, value)).ConfigureAwait(false);
                Out.WriteLine($"OK (revision {put.Revision})");
                break;
            case "GET" when line.Words.Count == 1:
                var got = await context.CallAsync(c => c.GetAsync(line.Words[0])).ConfigureAwait(false);
                Out.WriteLine(got.Found ? Output.ValueText(got.Entry) : "(not found)");
                break;
            case "DEL" when line.Words.Count == 1:
                var deleted = await context.CallAsync(c => c.DeleteAsync(line.Words[0])).ConfigureAwait(false);
                Out.WriteLine($"deleted {deleted.Deleted}");
                break;
            case "PRINT" when line.Words.Count <= 1:
                var any = false;
                await foreach (var entry in context.Client(context.Target.Address).ListAllAsync(line.Words.Count == 1 ? line.Words[0] : string.Empty).ConfigureAwait(false))
                {
                    Out.WriteLine($"{entry.Key}={Output.ValueText(entry)}");
                    any = true;
                }

                if (!any)
                {
                    Out.WriteLine("(empty)");
                }

                break;
            case "WATCH" when line.Words.Count(w => w != "--prefix") == 1:
                using (var interrupts = Interrupts.Catch())
                {
                    var prefix = line.Words.Contains("--prefix");
                    var key = line.Words.Single(w => w != "--prefix");
                    await Verbs.WatchVerb.RunAsync(context, new V1.WatchRequest { Key = key, Prefix = prefix }, interrupts.Token, from =>
                    {
                        Out.WriteLine($"(watching {(prefix ? "every key under " : string.Empty)}'{key}' from revision {from}; Ctrl+C to stop)");
                        Out.Flush();
                    }).ConfigureAwait(false);
                }

                break;
            case "HISTORY" when line.Words.Count == 1:
                var history = await context.CallAsync(c => c.HistoryAsync(line.Words[0])).ConfigureAwait(false);
                foreach (var text in Verbs.HistoryVerbs.Lines(history, line.Words[0]))
                {
                    Out.WriteLine(text);
                }

                break;
            case "USE" when line.Words.Count == 1:
                context.Target = await context.Resolver.ResolveAsync(line.Words[0]).ConfigureAwait(false);
                context.ExplicitTarget = true;
                var status = await context.Client(context.Target.Address).StatusAsync().ConfigureAwait(false);
                Out.WriteLine($"using {context.Target} ({Verbs.StatusVerb.HealthName(status.Health)}, revision {status.AppliedRevision})");
                break;
            case "HELP":
                Out.WriteLine(Help);
                break;
            default:
                Out.WriteLine(Usage.TryGetValue(line.Command, out var usage)
                    ? $"(error) {usage}"
                    : $"(error) unknown command '{line.Command}'; commands are SET, GET, DEL, PRINT, WATCH, HISTORY, USE, HELP, EXIT");
                break;
        }
    }
}
