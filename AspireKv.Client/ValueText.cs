using System.Text;
using Google.Protobuf;

namespace AspireKv.Client;

/// <summary>Values shown to people: as text when they are UTF-8, otherwise as base64 with a marker.</summary>
public static class ValueText
{
    private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

    /// <summary>The value as text, or <c>base64:…</c> when it is not UTF-8.</summary>
    public static string Display(ByteString value) => TryUtf8(value, out var text) ? text : $"base64:{value.ToBase64()}";

    /// <summary>Whether the value is UTF-8, and its text when it is.</summary>
    public static bool TryUtf8(ByteString value, out string text)
    {
        try
        {
            text = Strict.GetString(value.Span);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = string.Empty;
            return false;
        }
    }
}
