using System.Text;
using AspireKv.Grpc.Protocol;
using AspireKv.Node.Replication;
using AspireKv.Node.Replication.Wire;
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

    [Theory]
    [InlineData("1S", 10_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("3M", 1_800_000_000L)]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("7u", 70L)]
    [InlineData("500n", 5L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void Grpc_timeout_parses_every_unit(string text, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(text, out var timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("123456789S")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    public void Grpc_timeout_rejects_malformed_values(string text) => Assert.False(GrpcTimeout.TryParse(text, out _));

    [Theory]
    [InlineData(1)]
    [InlineData(250)]
    [InlineData(90_000)]
    [InlineData(86_400_000)]
    public void Grpc_timeout_format_round_trips_without_shortening(int milliseconds)
    {
        var timeout = TimeSpan.FromMilliseconds(milliseconds);

        var text = GrpcTimeout.Format(timeout);

        Assert.InRange(text.Length, 2, 9);
        Assert.True(GrpcTimeout.TryParse(text, out var parsed));
        Assert.True(parsed >= timeout);
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100%", "100%25")]
    [InlineData("ü", "%C3%BC")]
    [InlineData("a\nb", "a%0Ab")]
    public void Grpc_message_is_percent_encoded_as_the_protocol_says(string message, string encoded)
    {
        Assert.Equal(encoded, PercentEncoding.Encode(message));
        Assert.Equal(message, PercentEncoding.Decode(encoded));
    }

    [Fact]
    public void Malformed_percent_sequence_is_kept_as_it_is() => Assert.Equal("50%zz%", PercentEncoding.Decode("50%zz%"));

    [Fact]
    public void Commands_carry_ids_that_round_trip()
    {
        var id = Guid.NewGuid();
        var command = Commands.Put("a", "1", id: id);

        Assert.Equal(id, new Guid(command.Id.Span));
        Assert.Equal(command, Command.Parser.ParseFrom(command.ToByteArray()));
    }
}
