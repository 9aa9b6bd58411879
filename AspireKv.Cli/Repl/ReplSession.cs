using Grpc.Core;

namespace AspireKv.Cli.Repl;

/// <summary>
/// The seed's REPL (SET, GET, PRINT), plus DEL, USE, HELP and EXIT. Commands are
/// case-insensitive. A bad line prints its usage and a failing node prints an error; either
/// way the session goes on. It reads any stdin, so scripts can drive it; a script in which a
/// command failed ends with that failure's exit code (the last one's, when several failed). In a
/// terminal, lines can be edited, and Up and Down recall earlier commands.
/// </summary>
internal sealed class ReplSession(CliContext context, TextReader input, bool interactive)
{
    private readonly LineReader _reader = LineReader.Create(input, interactive);
    private int _failure = ExitCodes.Ok;

    // No AppHost was found and nothing answers where a lone node listens: the prompt names no node until USE finds one.
    private bool _noNode;

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
            await GreetAsync().ConfigureAwait(false);
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            var line = await _reader.ReadLineAsync(_noNode ? "aspirekv> " : $"{context.Target.Name}> ", Out, cancellationToken).ConfigureAwait(false);
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
                Fail(ExitCodes.Usage, ex.Message);
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
            catch (Exception ex) when (CliErrors.Explain(ex, context) is { } failure)
            {
                Fail(failure.ExitCode, failure.Message);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
                Fail(ExitCodes.Usage, ex.Message);
            }

            Out.Flush();
        }

        return _failure;
    }

    private void Fail(int exitCode, string message)
    {
        Out.WriteLine($"(error) {message}");
        _failure = exitCode;
    }

    /// <summary>Says which node the session talks to, or, when no AppHost was found and nothing answers, what to do.</summary>
    private async Task GreetAsync()
    {
        Out.WriteLine($"aspirekv: talking to {context.Target}. Type HELP for commands, EXIT to leave.");
        if (!context.Target.IsGuess)
        {
            return;
        }

        try
        {
            await context.Client(context.Target.Address).StatusAsync().ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            _noNode = true;
            Out.WriteLine($"(error) {CliErrors.Describe(ex, context)} In here: USE node2, or USE host:port.");
        }
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
                // Switch only to a node that answers: a failed USE leaves the session where it was.
                var next = await context.Resolver.ResolveAsync(line.Words[0]).ConfigureAwait(false);
                V1.StatusResponse status;
                try
                {
                    status = await context.Client(next.Address).StatusAsync().ConfigureAwait(false);
                }
                catch (RpcException ex)
                {
                    throw new CliException(ExitCodes.From(ex.StatusCode), $"{next} does not answer ({ex.StatusCode}: {ex.Status.Detail}); still using {context.Target}.");
                }

                context.Target = next;
                context.ExplicitTarget = true;
                _noNode = false;
                Out.WriteLine($"using {context.Target} ({Verbs.StatusVerb.HealthName(status.Health)}, revision {status.AppliedRevision})");
                break;
            case "HELP":
                Out.WriteLine(Help);
                break;
            default:
                Fail(ExitCodes.Usage, Usage.TryGetValue(line.Command, out var usage)
                    ? usage
                    : $"unknown command '{line.Command}'; commands are SET, GET, DEL, PRINT, WATCH, HISTORY, USE, HELP, EXIT");
                break;
        }
    }
}
