using AspireKv.Node.StateMachine;
using Google.Protobuf;

namespace AspireKv.UnitTests;

/// <summary>
/// The key space: lookups, order and ranges against a plain sorted dictionary; the copies a
/// snapshot takes while writes go on; and the chunks' garbage being reclaimed.
/// </summary>
public sealed class KeySpaceTests
{
    // Code points whose UTF-8 order differs from .NET's UTF-16 order: U+E000 sorts before U+1F600.
    private static readonly string[] Stems = ["a", "b", "B", "z/", "é", "\uE000", "\U0001F600", "a/b", ""];

    [Fact]
    public void It_agrees_with_a_sorted_dictionary_through_random_writes_deletes_copies_and_compactions()
    {
        var random = new Random(7);
        var space = new KeySpace(chunkSize: 512); // small chunks: many compactions, and values too large for one
        var model = new SortedDictionary<string, KeyRecord>(Utf8KeyComparer.Instance);
        var copies = new List<(KeySpaceCopy Copy, KeyRecord[] Expected)>();
        for (var step = 0; step < 20_000; step++)
        {
            var key = Stems[random.Next(Stems.Length)] + random.Next(300);
            if (random.Next(4) == 0)
            {
                space.Remove(key);
                model.Remove(key);
            }
            else
            {
                var value = new byte[random.Next(10) == 0 ? random.Next(500, 1500) : random.Next(0, 120)];
                random.NextBytes(value);
                var lease = random.Next(3) switch { 0 => 0, 1 => random.NextInt64(), _ => long.MaxValue }; // counters are varints: short and long ones
                var record = new KeyRecord(key, ByteString.CopyFrom(value), step, (long)step << random.Next(40), random.Next(1, 9), lease);
                space.Set(record);
                model[key] = record;
            }

            Assert.Equal(model.Count, space.Count);
            var probe = Stems[random.Next(Stems.Length)] + random.Next(300);
            AssertSame(model.GetValueOrDefault(probe), space.Get(probe));
            if (step % 1_000 == 0)
            {
                AssertSame(model.Values, space.All());
                copies.Add((space.Copy(), [.. model.Values]));
                var from = Stems[random.Next(Stems.Length)];
                var range = KeyRange.Prefix(from);
                AssertSame(model.Values.Where(r => range.Contains(r.Key)), space.InRange(range));
                var after = model.Keys.Where(range.Contains).Skip(3).FirstOrDefault();
                AssertSame(model.Values.Where(r => range.Contains(r.Key) && (after is null || Utf8KeyComparer.Instance.Compare(r.Key, after) > 0)), space.InRange(range, after));
            }
        }

        // Every copy still holds what the key space held when it was taken.
        foreach (var (copy, expected) in copies)
        {
            AssertSame(expected, copy.Records());
        }

        // A key space restored from a copy goes its own way, and so does the one it was copied from.
        var restored = KeySpace.FromCopy(copies[^1].Copy);
        AssertSame(copies[^1].Expected, restored.All());
        restored.Set(new KeyRecord("only-restored", ByteString.CopyFromUtf8("r"), 1, 1, 1));
        space.Set(new KeyRecord("only-original", ByteString.CopyFromUtf8("o"), 1, 1, 1));
        Assert.Null(space.Get("only-restored"));
        Assert.Null(restored.Get("only-original"));
        AssertSame(copies[^1].Expected, copies[^1].Copy.Records());
    }

    [Fact]
    public void Overwritten_values_do_not_pile_up_in_the_chunks()
    {
        var space = new KeySpace(chunkSize: 64 * 1024);
        var value = ByteString.CopyFrom(new byte[100]);
        for (var round = 0; round < 50; round++)
        {
            for (var i = 0; i < 1_000; i++)
            {
                space.Set(new KeyRecord($"key/{i:D4}", value, 1, round + 1, round + 1));
            }
        }

        // 1,000 live entries of about 120 bytes; 50 rounds wrote 6 MB in all.
        Assert.InRange(space.ChunkBytes, 120_000, 4 * 120_000);
        Assert.Equal(50, space.Get("key/0999")!.Version);
    }

    [Fact]
    public void A_copy_keeps_its_keys_while_every_key_changes_and_the_order_is_rebuilt()
    {
        var space = new KeySpace(chunkSize: 4096);
        for (var i = 0; i < 5_000; i++)
        {
            space.Set(new KeyRecord($"k/{i:D5}", ByteString.CopyFromUtf8($"old {i}"), i, i, 1));
        }

        var copy = space.Copy();
        for (var i = 0; i < 5_000; i++)
        {
            space.Remove($"k/{i:D5}");
            space.Set(new KeyRecord($"n/{i:D5}", ByteString.CopyFromUtf8($"new {i}"), i, i, 1));
        }

        var kept = copy.Records().ToList();
        Assert.Equal(5_000, kept.Count);
        Assert.Equal(Enumerable.Range(0, 5_000).Select(i => $"k/{i:D5}"), kept.Select(r => r.Key));
        Assert.All(kept, r => Assert.Equal($"old {int.Parse(r.Key[2..])}", r.Value.ToStringUtf8()));
        Assert.Equal(5_000, space.Count);
        Assert.Null(space.Get("k/00000"));
        Assert.Equal(5_000, KeySpace.FromCopy(copy).Count);
    }

    [Fact]
    public void Changing_the_key_space_while_reading_a_range_is_refused()
    {
        var space = new KeySpace();
        foreach (var key in new[] { "a", "b", "c" })
        {
            space.Set(new KeyRecord(key, ByteString.Empty, 1, 1, 1));
        }

        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var record in space.InRange(KeyRange.Prefix("")))
            {
                space.Remove(record.Key);
            }
        });
    }

    private static void AssertSame(KeyRecord? expected, KeyRecord? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }

        Assert.NotNull(actual);
        Assert.Equal(expected.Key, actual.Key);
        Assert.Equal(Convert.ToHexString(expected.Value.Span), Convert.ToHexString(actual.Value.Span));
        Assert.Equal((expected.CreateRevision, expected.ModRevision, expected.Version, expected.Lease), (actual.CreateRevision, actual.ModRevision, actual.Version, actual.Lease));
    }

    private static void AssertSame(IEnumerable<KeyRecord> expected, IEnumerable<KeyRecord> actual)
    {
        var (want, got) = (expected.ToList(), actual.ToList());
        Assert.Equal(want.Select(r => r.Key), got.Select(r => r.Key));
        for (var i = 0; i < want.Count; i++)
        {
            AssertSame(want[i], got[i]);
        }
    }
}
