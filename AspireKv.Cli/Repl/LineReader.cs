namespace AspireKv.Cli.Repl;

/// <summary>Where the REPL's lines come from: a terminal with line editing and history, or any reader (a pipe, a script, a test).</summary>
internal abstract class LineReader
{
    /// <summary>A line editor in a terminal that can show one; otherwise <paramref name="input"/>, with a printed prompt when interactive.</summary>
    public static LineReader Create(TextReader input, bool interactive) =>
        interactive && ReferenceEquals(input, Console.In) && TerminalLineReader.IsSupported
            ? new TerminalLineReader()
            : new PlainLineReader(input, interactive);

    /// <summary>The next line, or null at the end of input.</summary>
    public abstract Task<string?> ReadLineAsync(string prompt, TextWriter output, CancellationToken cancellationToken);

    private sealed class PlainLineReader(TextReader input, bool showPrompt) : LineReader
    {
        public override async Task<string?> ReadLineAsync(string prompt, TextWriter output, CancellationToken cancellationToken)
        {
            if (showPrompt)
            {
                await output.WriteAsync(prompt).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            return await input.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
