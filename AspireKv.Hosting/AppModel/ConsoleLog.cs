using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.AppModel;

/// <summary>Writes every resource's log lines to the console, each prefixed by its resource's name.</summary>
internal sealed class ConsoleLog
{
    private static readonly ConsoleColor[] Palette =
        [ConsoleColor.Cyan, ConsoleColor.Green, ConsoleColor.Yellow, ConsoleColor.Magenta, ConsoleColor.Blue, ConsoleColor.DarkCyan, ConsoleColor.DarkGreen];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, ConsoleColor> _colors = [];
    private readonly int _width;
    private readonly bool _color = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;

    public ConsoleLog(IEnumerable<string> names)
    {
        var all = names.ToList();
        _width = all.Count == 0 ? 8 : all.Max(n => n.Length);
        for (var i = 0; i < all.Count; i++)
        {
            _colors[all[i]] = Palette[i % Palette.Length];
        }
    }

    public void Write(LogLine line)
    {
        lock (_gate)
        {
            if (_color)
            {
                Console.ForegroundColor = _colors.GetValueOrDefault(line.Resource, ConsoleColor.Gray);
            }

            Console.Write(line.Resource.PadRight(_width));
            Console.Write(" | ");
            if (_color)
            {
                Console.ResetColor();
            }

            Console.WriteLine(line.Text);
        }
    }

    /// <summary>Writes a line of the AppHost's own.</summary>
    public void Say(string text)
    {
        lock (_gate)
        {
            Console.WriteLine(text);
        }
    }
}
