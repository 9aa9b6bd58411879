using System.Globalization;

namespace AspireKv.Cli;

/// <summary>Durations as people type them: <c>500ms</c>, <c>10s</c>, <c>2m</c>, <c>1h</c>, or a bare number of seconds.</summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim();
        // "ms" before "s" and "m": the first suffix that matches wins.
        (string Suffix, double Scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                && value > 0)
            {
                duration = TimeSpan.FromSeconds(value * scale);
                return true;
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
        {
            duration = TimeSpan.FromSeconds(seconds);
            return true;
        }

        return false;
    }

    public static string Describe(TimeSpan duration) =>
        duration.TotalSeconds >= 1 ? $"{duration.TotalSeconds:0.##} s" : $"{duration.TotalMilliseconds:0.##} ms";
}

/// <summary>Reads a value as the verbs accept it: literally, from stdin (<c>-</c>), or from a file (<c>@path</c>).</summary>
internal static class ValueSource
{
    public static byte[] Read(string argument, Func<Stream> stdin)
    {
        if (argument == "-")
        {
            using var input = stdin();
            using var buffer = new MemoryStream();
            input.CopyTo(buffer);
            return buffer.ToArray();
        }

        if (argument.StartsWith("@@", StringComparison.Ordinal))
        {
            return System.Text.Encoding.UTF8.GetBytes(argument[1..]);
        }

        if (argument.StartsWith('@'))
        {
            var path = argument[1..];
            try
            {
                return File.ReadAllBytes(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new CliException(ExitCodes.Usage, $"Cannot read the value from '{path}': {ex.Message} (a value that starts with @ is read from that file; write @@ for a literal @).");
            }
        }

        return System.Text.Encoding.UTF8.GetBytes(argument);
    }
}
