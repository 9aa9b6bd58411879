using System.Text;
using AspireKv.Node.Commands;
using AspireKv.Node.StateMachine;
using Google.Protobuf;

namespace AspireKv.UnitTests;

public sealed class CodecTests
{
    [Fact]
    public void Log_entry_round_trips_with_the_current_format_version()
    {
        var entry = Commands.Entry(Commands.Put("a", "1"), Commands.Delete("b", prefix: true));

        var bytes = LogCodec.Encode(entry);

        Assert.True(LogCodec.TryDecode(bytes, out var decoded, out _));
        Assert.Equal(entry, decoded);
        Assert.Equal(LogCodec.FormatVersion, decoded.FormatVersion);
    }

    [Theory]
    [InlineData("garbage that is not protobuf \u00ff\u00fe")]
    [InlineData("")]
    public void Garbage_is_not_an_entry(string text)
    {
        Assert.False(LogCodec.TryDecode(Encoding.Latin1.GetBytes(text), out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Unknown_format_version_is_not_an_entry()
    {
        var entry = new LogEntry { FormatVersion = 99, Origin = "future" };

        Assert.False(LogCodec.TryDecode(entry.ToByteArray(), out _, out var error));
        Assert.Contains("99", error);
    }

    [Fact]
    public void Keys_sort_by_utf8_bytes_not_utf16_units()
    {
        // U+FF61 is 0xEF 0xBD 0xA1 in UTF-8; U+1F600 is 0xF0 ...: the emoji sorts last in UTF-8,
        // but first in UTF-16 (its surrogate 0xD83D is below 0xFF61).
        string[] keys = ["\U0001F600", "\uFF61", "a", "ab", string.Empty, "b"];

        var sorted = keys.Order(Utf8KeyComparer.Instance).ToArray();
        var byBytes = keys.OrderBy(k => Encoding.UTF8.GetBytes(k), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToArray();

        Assert.Equal(byBytes, sorted);
        Assert.Equal("\U0001F600", sorted[^1]);
    }

    [Fact]
    public void Commands_carry_ids_that_round_trip()
    {
        var id = Guid.NewGuid();
        var command = Commands.Put("a", "1", id: id);

        Assert.Equal(id, new Guid(command.Id.Span));
        Assert.Equal(command, Command.Parser.ParseFrom(command.ToByteArray()));
    }
}
