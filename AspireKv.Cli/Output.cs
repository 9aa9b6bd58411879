using System.Text.Json;
using System.Text.Json.Nodes;
using AspireKv.V1;

namespace AspireKv.Cli;

/// <summary>How results are printed: <c>text</c> for people, <c>json</c> for programs.</summary>
internal enum OutputFormat
{
    Text,
    Json,
}

/// <summary>Writes results and errors in the chosen format.</summary>
internal sealed class Output(TextWriter stdout, TextWriter stderr, OutputFormat format)
{
    // Output for terminals and scripts, not HTML: "+" in a version stays "+", not "\u002B".
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public OutputFormat Format { get; } = format;

    public TextWriter Out { get; } = stdout;

    public TextWriter Error { get; } = stderr;

    public void Json(JsonNode node) => Out.WriteLine(node.ToJsonString(Indented));

    /// <summary>One JSON object on one line, flushed: for streams of results such as watch events.</summary>
    public void JsonLine(JsonNode node)
    {
        Out.WriteLine(node.ToJsonString(Compact));
        Out.Flush();
    }

    public void Line(string text) => Out.WriteLine(text);

    public void Fail(string message) => Error.WriteLine($"error: {message}");

    /// <summary>An entry as JSON: the value as text when it is UTF-8, otherwise as base64.</summary>
    public static JsonObject ToJson(Entry entry)
    {
        var json = new JsonObject { ["key"] = entry.Key };
        if (Client.ValueText.TryUtf8(entry.Value, out var text))
        {
            json["value"] = text;
        }
        else
        {
            json["valueBase64"] = entry.Value.ToBase64();
        }

        json["createRevision"] = entry.CreateRevision;
        json["modRevision"] = entry.ModRevision;
        json["version"] = entry.Version;
        if (entry.Lease != 0)
        {
            json["lease"] = entry.Lease.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        }

        return json;
    }

    /// <summary>A watch or history event as JSON: its type, the key's entry, and the previous entry when there is one.</summary>
    public static JsonObject ToJson(Event change, long revision)
    {
        var json = new JsonObject { ["type"] = change.Type == Event.Types.Type.Put ? "PUT" : "DELETE", ["revision"] = revision };
        foreach (var (name, value) in ToJson(change.Entry))
        {
            json[name] = value?.DeepClone();
        }

        if (change.Type == Event.Types.Type.Delete)
        {
            json.Remove("value");
            json.Remove("createRevision");
            json.Remove("version");
        }

        if (change.Previous is { } previous)
        {
            json["previous"] = ToJson(previous);
        }

        return json;
    }

    /// <summary>An event as one line of text: <c>PUT key=value (revision 7)</c> or <c>DELETE key (revision 8)</c>, with the value before when there is one.</summary>
    public static string EventText(Event change, long revision)
    {
        var text = change.Type == Event.Types.Type.Put ? $"PUT {change.Entry.Key}={ValueText(change.Entry)}" : $"DELETE {change.Entry.Key}";
        return change.Previous is { } previous ? $"{text} (revision {revision}, was {ValueText(previous)})" : $"{text} (revision {revision})";
    }

    /// <summary>A value as text: UTF-8 when it is, otherwise base64 with a marker.</summary>
    public static string ValueText(Entry entry) => Client.ValueText.Display(entry.Value);
}
