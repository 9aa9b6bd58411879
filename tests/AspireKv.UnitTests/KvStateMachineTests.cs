using AspireKv.Node.Commands;
using AspireKv.Node.StateMachine;
using Google.Protobuf;
using static AspireKv.UnitTests.Commands;

namespace AspireKv.UnitTests;

public sealed class KvStateMachineTests
{
    private readonly KvStateMachine _state = new();
    private long _offset;

    private CommandResult Apply(Command command) => ApplyAll(command).Single();

    private List<CommandResult> ApplyAll(params Command[] commands)
    {
        var results = new List<CommandResult>();
        Assert.True(_state.Apply(_offset, Hash(_offset++), Entry(commands), results));
        return results;
    }

    [Fact]
    public void Empty_store_is_at_revision_zero_with_nothing_applied()
    {
        Assert.Equal(0, _state.Revision);
        Assert.Equal(-1, _state.AppliedOffset);
        Assert.Null(_state.Get("a"));
    }

    [Fact]
    public void Each_put_takes_the_next_revision_and_counts_versions()
    {
        var first = Apply(Put("a", "1"));
        var second = Apply(Put("b", "1"));
        var third = Apply(Put("a", "2"));

        Assert.Equal((CommandOutcome.Applied, 1L), (first.Outcome, first.Revision));
        Assert.Equal(2, second.Revision);
        Assert.Equal(3, third.Revision);
        var a = _state.Get("a")!;
        Assert.Equal("2", a.Value.ToStringUtf8());
        Assert.Equal((1L, 3L, 2L), (a.CreateRevision, a.ModRevision, a.Version));
        Assert.Equal(3, _state.Revision);
    }

    [Fact]
    public void Put_returns_the_previous_entry_when_asked()
    {
        Apply(Put("a", "old"));

        var result = Apply(Put("a", "new", returnPrevious: true));
        var without = Apply(Put("a", "newer"));

        Assert.Equal("old", result.Previous!.Value.ToStringUtf8());
        Assert.Null(without.Previous);
    }

    [Fact]
    public void Compare_and_set_applies_when_the_mod_revision_matches()
    {
        Apply(Put("a", "1"));

        var result = Apply(Put("a", "2", expected: 1));

        Assert.Equal(CommandOutcome.Applied, result.Outcome);
        Assert.Equal("2", _state.Get("a")!.Value.ToStringUtf8());
    }

    [Fact]
    public void Compare_and_set_fails_without_a_revision_when_the_mod_revision_differs()
    {
        Apply(Put("a", "1"));
        Apply(Put("a", "2"));

        var result = Apply(Put("a", "3", expected: 1));

        Assert.Equal(CommandOutcome.PreconditionFailed, result.Outcome);
        Assert.Equal(2, result.CurrentModRevision);
        Assert.Equal(2, _state.Revision);
        Assert.Equal("2", _state.Get("a")!.Value.ToStringUtf8());
    }

    [Fact]
    public void Compare_and_set_with_zero_creates_only_when_the_key_is_missing()
    {
        var created = Apply(Put("a", "1", expected: 0));
        var again = Apply(Put("a", "2", expected: 0));

        Assert.Equal(CommandOutcome.Applied, created.Outcome);
        Assert.Equal(CommandOutcome.PreconditionFailed, again.Outcome);
        Assert.Equal(1, again.CurrentModRevision);
    }

    [Fact]
    public void Compare_and_set_against_a_missing_key_reports_zero()
    {
        var result = Apply(Put("a", "1", expected: 7));

        Assert.Equal(CommandOutcome.PreconditionFailed, result.Outcome);
        Assert.Equal(0, result.CurrentModRevision);
    }

    [Fact]
    public void Delete_removes_the_key_at_a_new_revision()
    {
        Apply(Put("a", "1"));

        var result = Apply(Delete("a"));

        Assert.Equal((CommandOutcome.Applied, 2L, 1L), (result.Outcome, result.Revision, result.Deleted));
        Assert.Null(_state.Get("a"));
        Assert.Equal(0, _state.KeyCount);
    }

    [Fact]
    public void Delete_of_a_missing_key_changes_nothing()
    {
        Apply(Put("a", "1"));

        var result = Apply(Delete("b"));

        Assert.Equal((CommandOutcome.NoChange, 1L, 0L), (result.Outcome, result.Revision, result.Deleted));
        Assert.Equal(1, _state.Revision);
    }

    [Fact]
    public void Delete_with_prefix_removes_every_match_at_one_revision()
    {
        ApplyAll(Put("app/a", "1"), Put("app/b", "2"), Put("apple", "3"), Put("other", "4"));

        var result = Apply(Delete("app/", prefix: true));

        Assert.Equal((5L, 2L), (result.Revision, result.Deleted));
        Assert.Null(_state.Get("app/a"));
        Assert.NotNull(_state.Get("apple"));
        Assert.NotNull(_state.Get("other"));
    }

    [Fact]
    public void Recreated_key_starts_a_new_life()
    {
        Apply(Put("a", "1"));
        Apply(Put("a", "2"));
        Apply(Delete("a"));

        Apply(Put("a", "3"));

        var a = _state.Get("a")!;
        Assert.Equal((4L, 4L, 1L), (a.CreateRevision, a.ModRevision, a.Version));
    }

    [Fact]
    public void List_returns_the_prefix_in_byte_order()
    {
        ApplyAll(Put("b/2", "x"), Put("a", "x"), Put("b/1", "x"), Put("b/10", "x"), Put("c", "x"), Put("b", "x"));

        var (entries, more) = _state.List("b/", null, 0, long.MaxValue);

        Assert.Equal(["b/1", "b/10", "b/2"], entries.Select(e => e.Key));
        Assert.False(more);
    }

    [Fact]
    public void List_pages_with_limit_and_continuation_through_every_key_once()
    {
        for (var i = 0; i < 25; i++)
        {
            Apply(Put($"k/{i:D2}", "v"));
        }

        Apply(Put("l", "not in the prefix"));

        var seen = new List<string>();
        string? after = null;
        var pages = 0;
        while (true)
        {
            var (entries, more) = _state.List("k/", after, 10, long.MaxValue);
            pages++;
            seen.AddRange(entries.Select(e => e.Key));
            if (!more)
            {
                break;
            }

            after = entries[^1].Key;
        }

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"k/{i:D2}"), seen);
    }

    [Fact]
    public void List_with_an_exact_multiple_of_the_limit_reports_no_more_at_the_end()
    {
        ApplyAll(Put("a", "1"), Put("b", "2"));

        var (entries, more) = _state.List(string.Empty, null, 2, long.MaxValue);

        Assert.Equal(2, entries.Count);
        Assert.False(more);
    }

    [Fact]
    public void List_page_stops_before_the_byte_budget_but_always_holds_one_entry()
    {
        ApplyAll(Put("a", new string('x', 100)), Put("b", new string('x', 100)), Put("c", new string('x', 100)));

        var (tight, tightMore) = _state.List(string.Empty, null, 0, 10);
        var (two, twoMore) = _state.List(string.Empty, null, 0, 210);
        var (keysOnly, keysOnlyMore) = _state.List(string.Empty, null, 0, 10, keysOnly: true);

        Assert.Equal(["a"], tight.Select(e => e.Key));
        Assert.True(tightMore);
        Assert.Equal(2, two.Count);
        Assert.True(twoMore);
        Assert.Equal(3, keysOnly.Count);
        Assert.False(keysOnlyMore);
    }

    [Fact]
    public void List_after_the_last_key_is_empty()
    {
        ApplyAll(Put("a", "1"));

        Assert.Empty(_state.List(string.Empty, "zzz", 0, long.MaxValue).Entries);
        Assert.Empty(new KvStateMachine().List(string.Empty, null, 0, long.MaxValue).Entries);
    }

    [Fact]
    public void Duplicate_command_id_is_not_applied_twice()
    {
        var id = Guid.NewGuid();
        Apply(Put("a", "1", id: id));

        var duplicate = Apply(Put("a", "2", id: id));

        Assert.Equal(CommandOutcome.Duplicate, duplicate.Outcome);
        Assert.Equal("1", _state.Get("a")!.Value.ToStringUtf8());
        Assert.Equal(1, _state.Revision);
    }

    [Fact]
    public void Entry_at_or_below_the_applied_offset_is_ignored()
    {
        var results = new List<CommandResult>();
        Assert.True(_state.Apply(5, Hash(5), Entry(Put("a", "1")), results));

        Assert.False(_state.Apply(5, Hash(5), Entry(Put("b", "1")), results));
        Assert.False(_state.Apply(3, Hash(3), Entry(Put("c", "1")), results));
        Assert.False(_state.Skip(4, Hash(4)));

        Assert.Equal(5, _state.AppliedOffset);
        Assert.Equal(1, _state.Revision);
        Assert.Single(results);
    }

    [Fact]
    public void Skipped_entry_advances_the_offset_and_is_counted()
    {
        Assert.True(_state.Skip(0, Hash(0)));

        Assert.Equal(0, _state.AppliedOffset);
        Assert.Equal(1, _state.SkippedEntries);
        Assert.Equal(0, _state.Revision);
    }

    [Fact]
    public void Malformed_commands_are_rejected_without_changing_the_store()
    {
        var noOp = new Command { Id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
        var shortId = new Command { Id = ByteString.CopyFrom([1, 2, 3]), Put = new PutOp { Key = "a" } };

        var results = ApplyAll(Put(string.Empty, "x"), Delete(string.Empty), noOp, shortId);

        Assert.All(results, r => Assert.Equal(CommandOutcome.Rejected, r.Outcome));
        Assert.All(results, r => Assert.False(string.IsNullOrEmpty(r.Reason)));
        Assert.Equal(0, _state.Revision);
    }

    [Fact]
    public void Barrier_changes_nothing()
    {
        Apply(Put("a", "1"));
        var hash = _state.ComputeStateHash();

        var result = Apply(Barrier());

        Assert.Equal((CommandOutcome.Barrier, 1L), (result.Outcome, result.Revision));
        Assert.Equal(hash, _state.ComputeStateHash());
    }

    [Fact]
    public void Same_log_gives_the_same_state_hash_and_a_different_log_does_not()
    {
        var log = RandomLog(seed: 42, entries: 300);

        var first = Replay(log);
        var second = Replay(log);
        var reordered = Replay([.. log.Take(150).Reverse(), .. log.Skip(150)]);

        Assert.Equal(first.ComputeStateHash(), second.ComputeStateHash());
        Assert.Equal(first.Revision, second.Revision);
        Assert.NotEqual(first.ComputeStateHash(), reordered.ComputeStateHash());
    }

    [Fact]
    public void Hash_sees_every_counter()
    {
        var a = Replay([Entry(Put("k", "v"))]);
        var b = Replay([Entry(Put("k", "x")), Entry(Put("k", "v"))]);

        Assert.Equal(a.Get("k")!.Value, b.Get("k")!.Value);
        Assert.NotEqual(a.ComputeStateHash(), b.ComputeStateHash());
    }

    private static KvStateMachine Replay(IEnumerable<LogEntry> log)
    {
        var state = new KvStateMachine();
        var results = new List<CommandResult>();
        var offset = 0L;
        foreach (var entry in log)
        {
            state.Apply(offset, Hash(offset++), entry, results);
        }

        return state;
    }

    private static List<LogEntry> RandomLog(int seed, int entries)
    {
        var random = new Random(seed);
        var log = new List<LogEntry>();
        for (var i = 0; i < entries; i++)
        {
            var commands = new List<Command>();
            for (var j = random.Next(1, 4); j > 0; j--)
            {
                var key = $"k{random.Next(20)}";
                var id = new Guid([.. Enumerable.Range(0, 16).Select(_ => (byte)random.Next(256))]);
                var command = random.Next(10) switch
                {
                    0 => Delete(key),
                    1 => Delete("k1", prefix: true),
                    2 => Put(key, $"v{i}", expected: random.Next(5), id: id),
                    _ => Put(key, $"v{i}-{j}", id: id),
                };
                commands.Add(command);
            }

            log.Add(Entry([.. commands]));
        }

        return log;
    }
}
