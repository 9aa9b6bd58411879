using AspireKv.Node.StateMachine;
using Google.Protobuf;

namespace AspireKv.UnitTests;

/// <summary>The key space: point lookups, order, and the block copy a snapshot takes under the apply lock.</summary>
public sealed class KeySpaceTests
{
    [Fact]
    public void A_copy_holds_exactly_the_live_records_after_deletes_and_reused_slots()
    {
        var space = new KeySpace();
        foreach (var key in new[] { "c", "a", "b", "d" })
        {
            space.Set(Record(key, "1"));
        }

        space.Remove("a");
        space.Remove("d");
        space.Set(Record("e", "1")); // takes a freed slot
        space.Set(Record("b", "2")); // replaces in place

        var copy = space.CopyUnordered();
        space.Set(Record("late", "1")); // after the copy: not in it

        var records = copy.Records();
        KeySpace.Sort(records);
        Assert.Equal(3, copy.Count);
        Assert.Equal(["b", "c", "e"], records.Select(r => r.Key));
        Assert.Equal("2", records[0].Value.ToStringUtf8());
        Assert.Equal(["b", "c", "e", "late"], space.All().Select(r => r.Key));
        Assert.Null(space.Get("a"));
        Assert.Equal(4, space.Count);
    }

    private static KeyRecord Record(string key, string value) => new(key, ByteString.CopyFromUtf8(value), 1, 1, 1);
}
