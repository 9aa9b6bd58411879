using System.Text;

namespace AspireKv.Cli.Repl;

/// <summary>
/// One REPL line, split the way the seed's REPL reads it: a command word, then words, where a
/// word may be quoted ("with spaces", with \" and \\ inside). For SET the rest of the line after
/// the key is the value; a value wholly in quotes is unquoted.
/// </summary>
internal sealed record ReplLine(string Command, IReadOnlyList<string> Words, string Rest)
{
    public static ReplLine? Parse(string line)
    {
        var position = 0;
        SkipSpaces(line, ref position);
        if (position >= line.Length)
        {
            return null;
        }

        var command = ReadWord(line, ref position)!.ToUpperInvariant();
        var restStart = position;
        var words = new List<string>();
        while (true)
        {
            SkipSpaces(line, ref position);
            if (position >= line.Length)
            {
                break;
            }

            words.Add(ReadWord(line, ref position) ?? throw new FormatException("a quote is not closed"));
        }

        return new ReplLine(command, words, line[restStart..]);
    }

    /// <summary>For <c>SET key value…</c>: the key, and the rest of the line after it as the value.</summary>
    public (string Key, string Value)? KeyAndValue()
    {
        var position = 0;
        SkipSpaces(Rest, ref position);
        var key = position < Rest.Length ? ReadWord(Rest, ref position) : null;
        if (key is null || position >= Rest.Length)
        {
            return null;
        }

        // One separating space (or more) ends the key; everything after it is the value.
        SkipSpaces(Rest, ref position);
        var value = Rest[position..].TrimEnd('\r', '\n');
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            var inner = 0;
            var unquoted = ReadWord(value, ref inner);
            if (unquoted is not null && inner == value.Length)
            {
                value = unquoted;
            }
        }

        return value.Length == 0 && !Rest[position..].Contains('"', StringComparison.Ordinal) ? null : (key, value);
    }

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }
    }

    /// <summary>A bare word, or a quoted one; null for an unclosed quote.</summary>
    private static string? ReadWord(string text, ref int position)
    {
        if (text[position] != '"')
        {
            var start = position;
            while (position < text.Length && !char.IsWhiteSpace(text[position]))
            {
                position++;
            }

            return text[start..position];
        }

        var word = new StringBuilder();
        position++;
        while (position < text.Length)
        {
            var c = text[position++];
            if (c == '"')
            {
                return word.ToString();
            }

            if (c == '\\' && position < text.Length && text[position] is '"' or '\\')
            {
                c = text[position++];
            }

            word.Append(c);
        }

        return null;
    }
}
