namespace AspireKv.RobustnessTests;

/// <summary>The checker itself: it passes histories a register can produce, and catches the ones it cannot.</summary>
public sealed class CheckerTests
{
    [Fact]
    public void Sequential_writes_and_reads_are_linearizable() =>
        AssertLinearizable(
            Put(0, 1, "a", 5),
            Get(2, 3, "a", 5),
            Put(4, 5, "b", 7),
            Get(6, 7, "b", 7),
            Delete(8, 9, 1, 8),
            Absent(10, 11));

    [Fact]
    public void Concurrent_write_may_be_seen_or_not_by_an_overlapping_read()
    {
        AssertLinearizable(Put(0, 10, "a", 5), Absent(1, 2), Get(3, 4, "a", 5)); // both reads overlap the write: first before it, then after
        Assert.False(Check(Put(0, 10, "a", 5), Get(1, 2, "a", 5), Absent(3, 4)).IsLinearizable); // but once seen, it stays
        AssertLinearizable(Put(0, 1, "a", 5), Put(2, 10, "b", 7), Get(3, 4, "b", 7), Get(5, 6, "b", 7));
    }

    [Fact]
    public void Stale_read_is_caught()
    {
        // "b" is acknowledged before the read begins, yet the read returns "a".
        var result = Check(Put(0, 1, "a", 5), Put(2, 3, "b", 7), Get(4, 5, "a", 5));

        Assert.False(result.IsLinearizable);
        Assert.Contains("not linearizable", result.ToString());
    }

    [Fact]
    public void Lost_write_is_caught()
    {
        // An acknowledged write that a later read does not see, the key being absent as before it.
        var result = Check(Absent(0, 1), Put(2, 3, "a", 5), Absent(4, 5));

        Assert.False(result.IsLinearizable);
    }

    [Fact]
    public void Duplicate_apply_is_caught()
    {
        // "a" was applied at revision 5 and overwritten by "b"; applied again, it comes back with a newer revision.
        var result = Check(Put(0, 1, "a", 5), Put(2, 3, "b", 7), Get(4, 5, "b", 7), Get(8, 9, "a", 9));

        Assert.False(result.IsLinearizable);
    }

    [Fact]
    public void Write_with_an_unknown_outcome_may_have_happened_or_not()
    {
        AssertLinearizable(Unknown(0, "a"), Get(5, 6, "a", 5), Get(7, 8, "a", 5)); // it happened
        AssertLinearizable(Unknown(0, "a"), Absent(5, 6), Absent(7, 8)); // it did not (or not yet)
        var flipFlop = Check(Unknown(0, "a"), Get(5, 6, "a", 5), Absent(7, 8)); // it cannot happen and then un-happen
        Assert.False(flipFlop.IsLinearizable);
    }

    [Fact]
    public void Compare_and_set_matches_on_mod_revision()
    {
        AssertLinearizable(Put(0, 1, "a", 5), Cas(2, 3, 5, "b", matched: true, revision: 7), Get(4, 5, "b", 7));
        AssertLinearizable(Put(0, 1, "a", 5), Cas(2, 3, 4, "b", matched: false, revision: 5), Get(4, 5, "a", 5));
        var wrong = Check(Put(0, 1, "a", 5), Cas(2, 3, 4, "b", matched: true, revision: 7));
        Assert.False(wrong.IsLinearizable);
    }

    [Fact]
    public void Revoking_a_lease_deletes_a_key_only_while_its_value_was_written_with_the_lease()
    {
        AssertLinearizable(Put(0, 1, "a", 5), Revoke(2, 3, ["a"], deleted: 1, revision: 6), Absent(4, 5));
        AssertLinearizable(Put(0, 1, "a", 5), Put(2, 3, "b", 6), Revoke(4, 5, ["a"], deleted: 0, revision: 0), Get(6, 7, "b", 6));
        Assert.False(Check(Put(0, 1, "a", 5), Revoke(2, 3, ["a"], deleted: 1, revision: 6), Get(4, 5, "a", 5)).IsLinearizable); // the key outlived its lease
        Assert.False(Check(Put(0, 1, "a", 5), Revoke(2, 3, ["a"], deleted: 0, revision: 0)).IsLinearizable); // an attached key was not deleted
        Assert.False(Check(Put(0, 1, "a", 5), Put(2, 3, "b", 6), Revoke(4, 5, ["a"], deleted: 1, revision: 7), Absent(6, 7)).IsLinearizable); // "b" was not attached
    }

    [Fact]
    public void Operations_that_certainly_failed_are_left_out() =>
        AssertLinearizable(Put(0, 1, "a", 5), new Operation(0, "n", OperationKind.Put, "k", 2, 3, Outcome.Failed) { Value = "x" }, Get(4, 5, "a", 5));

    private static void AssertLinearizable(params Operation[] history)
    {
        var result = Check(history);
        Assert.True(result.IsLinearizable, result.ToString());
    }

    private static CheckResult Check(params Operation[] history)
    {
        for (var i = 0; i < history.Length; i++)
        {
            history[i].Index = i;
        }

        return LinearizabilityChecker.Check(history);
    }

    private static Operation Put(long invoked, long returned, string value, long revision) =>
        new(0, "n", OperationKind.Put, "k", invoked, returned, Outcome.Ok) { Value = value, Revision = revision };

    private static Operation Unknown(long invoked, string value) =>
        new(0, "n", OperationKind.Put, "k", invoked, long.MaxValue, Outcome.Unknown) { Value = value };

    private static Operation Cas(long invoked, long returned, long expected, string value, bool matched, long revision) =>
        new(0, "n", OperationKind.CompareAndSet, "k", invoked, returned, Outcome.Ok)
        {
            Value = value,
            ExpectedModRevision = expected,
            Matched = matched,
            Revision = matched ? revision : 0,
            ModRevision = matched ? 0 : revision,
        };

    private static Operation Delete(long invoked, long returned, long deleted, long revision) =>
        new(0, "n", OperationKind.Delete, "k", invoked, returned, Outcome.Ok) { Deleted = deleted, Revision = revision };

    private static Operation Revoke(long invoked, long returned, string[] values, long deleted, long revision) =>
        new(0, "n", OperationKind.Revoke, "k", invoked, returned, Outcome.Ok) { LeaseValues = values.ToHashSet(), Deleted = deleted, Revision = revision };

    private static Operation Get(long invoked, long returned, string value, long modRevision) =>
        new(1, "n", OperationKind.Get, "k", invoked, returned, Outcome.Ok) { Found = true, ReadValue = value, ModRevision = modRevision };

    private static Operation Absent(long invoked, long returned) =>
        new(1, "n", OperationKind.Get, "k", invoked, returned, Outcome.Ok) { Found = false };
}
