using RadLine;
using Spectre.Console;

namespace AspireKv.Cli.Repl;

/// <summary>
/// Lines typed in a terminal, edited as in redis-cli: Left, Right, Home, End, Backspace and
/// Delete edit the line; Up and Down walk through the commands typed before in this session.
/// </summary>
internal sealed class TerminalLineReader : LineReader
{
    private readonly Prompt _prompt = new();
    private readonly LineEditor _editor;

    public TerminalLineReader()
    {
        _editor = new LineEditor { Prompt = _prompt };

        // One line at a time: Up and Down recall history (RadLine binds them to moving between lines, and history to Ctrl+Up/Down).
        foreach (var modifiers in new ConsoleModifiers?[] { null, ConsoleModifiers.Control })
        {
            _editor.KeyBindings.Remove(ConsoleKey.UpArrow, modifiers);
            _editor.KeyBindings.Remove(ConsoleKey.DownArrow, modifiers);
        }

        _editor.KeyBindings.Add<PreviousHistoryCommand>(ConsoleKey.UpArrow);
        _editor.KeyBindings.Add<NextHistoryCommand>(ConsoleKey.DownArrow);
    }

    public static bool IsSupported => !Console.IsInputRedirected && !Console.IsOutputRedirected && LineEditor.IsSupported(AnsiConsole.Console);

    public override async Task<string?> ReadLineAsync(string prompt, TextWriter output, CancellationToken cancellationToken)
    {
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        _prompt.Text = prompt.TrimEnd();
        return await _editor.ReadLine(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The prompt names the node the session talks to, which USE changes.</summary>
    private sealed class Prompt : ILineEditorPrompt
    {
        public string Text { get; set; } = ">";

        public (Markup Markup, int Margin) GetPrompt(ILineEditorState state, int line) => (new Markup(Markup.Escape(Text)), 1);
    }
}
