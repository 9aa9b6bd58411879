using AspireKv.Node.Commands;
using AspireKv.Node.StateMachine;
using static AspireKv.UnitTests.Commands;

namespace AspireKv.UnitTests;

/// <summary>Transactions, leases, history and compaction in the state machine, as etcd's v3 API has them.</summary>
public sealed class EtcdSemanticsTests
{
    private readonly KvStateMachine _state = new();
    private long _offset;

    [Fact]
    public void Transaction_runs_the_success_branch_at_one_revision()
    {
        Apply(Put("a", "1"));

        var result = Apply(Txn([VersionIs("a", 1)], [PutStep("a", "2"), PutStep("b", "x"), DeleteStep("c")]));

        Assert.True(result.Txn!.Succeeded);
        Assert.Equal(2, result.Revision);
        Assert.Equal(2, _state.Revision);
        Assert.Equal(2, _state.Get("a")!.ModRevision);
        Assert.Equal(2, _state.Get("b")!.ModRevision);
        var revision = Assert.Single(_state.EventsFrom(2, 10));
        Assert.Equal(["a", "b"], revision.Events.Select(e => e.Record.Key));
    }

    [Fact]
    public void Transaction_whose_compare_fails_runs_the_failure_branch()
    {
        Apply(Put("a", "1"));

        var result = Apply(Txn([ValueIs("a", "other")], [PutStep("a", "success")], [PutStep("a", "failure")]));

        Assert.False(result.Txn!.Succeeded);
        Assert.Equal("failure", _state.Get("a")!.Value.ToStringUtf8());
    }

    [Fact]
    public void Reads_in_a_transaction_see_its_earlier_writes()
    {
        var result = Apply(Txn([], [PutStep("a", "new"), GetStep("a")]));

        var read = result.Txn!.Steps[1];
        Assert.Equal("new", Assert.Single(read.Records!).Value.ToStringUtf8());
        Assert.Equal(1, read.Revision);
    }

    [Fact]
    public void Transaction_that_writes_nothing_keeps_the_revision()
    {
        Apply(Put("a", "1"));

        var result = Apply(Txn([VersionIs("a", 1)], [GetStep("a")]));

        Assert.Equal(1, result.Revision);
        Assert.Equal(1, _state.Revision);
    }

    [Fact]
    public void Compares_on_an_absent_key_see_zero_counters_and_never_a_value()
    {
        Assert.True(Apply(Txn([VersionIs("missing", 0)], [])).Txn!.Succeeded);
        Assert.False(Apply(Txn([ValueIs("missing", string.Empty)], [])).Txn!.Succeeded);
        Assert.True(Apply(Txn([new CompareOp { Key = "missing", Result = CompareOp.Types.Result.Equal, CreateRevision = 0 }], [])).Txn!.Succeeded);
    }

    [Fact]
    public void Transaction_with_a_put_on_a_missing_lease_applies_nothing()
    {
        Apply(Put("a", "1"));

        var result = Apply(Txn([], [PutStep("a", "2"), PutStep("b", "leased", lease: 99)]));

        Assert.Equal(CommandOutcome.LeaseNotFound, result.Outcome);
        Assert.Equal("1", _state.Get("a")!.Value.ToStringUtf8());
        Assert.Null(_state.Get("b"));
        Assert.Equal(1, _state.Revision);
    }

    [Fact]
    public void Revoking_a_lease_deletes_its_keys_at_one_revision()
    {
        ApplyAt(100, Grant(7, 10));
        Apply(PutWithLease("lock/a", "held", 7));
        Apply(PutWithLease("lock/b", "held", 7));
        Apply(Put("free", "kept"));

        var result = Apply(Revoke(7));

        Assert.Equal(2, result.Deleted);
        Assert.Null(_state.Get("lock/a"));
        Assert.Null(_state.Get("lock/b"));
        Assert.NotNull(_state.Get("free"));
        var revision = _state.EventsFrom(_state.Revision, 1).Single();
        Assert.All(revision.Events, e => Assert.Equal(EventType.Delete, e.Type));
        Assert.Equal(2, revision.Events.Count);
        Assert.Null(_state.FindLease(7));
    }

    [Fact]
    public void Lease_expires_by_the_log_clock_not_the_replicas()
    {
        ApplyAt(100, Grant(7, 10));
        ApplyAt(100, PutWithLease("session", "alive", 7));

        ApplyAt(109.9, Tick());
        Assert.NotNull(_state.Get("session"));

        // A proposer whose clock is behind does not turn the log's clock back.
        ApplyAt(50, Tick());
        Assert.NotNull(_state.Get("session"));

        ApplyAt(110, Tick());
        Assert.Null(_state.Get("session"));
        Assert.Null(_state.FindLease(7));
    }

    [Fact]
    public void Keep_alive_renews_a_lease_for_its_full_ttl()
    {
        ApplyAt(100, Grant(7, 10));
        ApplyAt(105, KeepAlive(7));

        ApplyAt(112, Tick());

        Assert.NotNull(_state.FindLease(7));
        Assert.Equal(115_000_000, _state.FindLease(7)!.ExpiresAtMicros);
        Assert.Equal(CommandOutcome.LeaseNotFound, ApplyAt(200, KeepAlive(7)).Outcome);
    }

    [Fact]
    public void Put_with_an_unknown_lease_changes_nothing()
    {
        var result = Apply(PutWithLease("k", "v", 42));

        Assert.Equal(CommandOutcome.LeaseNotFound, result.Outcome);
        Assert.Null(_state.Get("k"));
        Assert.Equal(0, _state.Revision);
    }

    [Fact]
    public void Granting_an_existing_lease_id_is_refused() =>
        Assert.Equal(CommandOutcome.LeaseExists, ApplyAll(Grant(7, 10), Grant(7, 20))[1].Outcome);

    [Fact]
    public void Reads_at_a_past_revision_see_the_store_as_it_was()
    {
        Apply(Put("a", "1"));           // 1
        Apply(Put("b", "1"));           // 2
        Apply(Put("a", "2"));           // 3
        Apply(Delete("b"));             // 4
        Apply(Put("c", "1"));           // 5

        Assert.Equal("1", _state.Get("a", 2)!.Value.ToStringUtf8());
        Assert.Equal("2", _state.Get("a", 3)!.Value.ToStringUtf8());
        Assert.NotNull(_state.Get("b", 3));
        Assert.Null(_state.Get("b", 4));
        Assert.Null(_state.Get("c", 4));
        Assert.Equal(["a", "b"], _state.List(string.Empty, null, 0, long.MaxValue, revision: 2).Entries.Select(r => r.Key));
        Assert.Equal(["a", "c"], _state.List(string.Empty, null, 0, long.MaxValue).Entries.Select(r => r.Key));
    }

    [Fact]
    public void Compaction_drops_older_history_and_refuses_older_reads()
    {
        for (var i = 0; i < 5; i++)
        {
            Apply(Put("k", $"v{i}"));
        }

        var compacted = Apply(Compact(3));

        Assert.Equal(3, compacted.CompactRevision);
        Assert.Equal(CommandOutcome.Compacted, _state.CheckRevision(2)!.Outcome);
        Assert.Null(_state.CheckRevision(3));
        Assert.Equal(CommandOutcome.FutureRevision, _state.CheckRevision(6)!.Outcome);
        Assert.Equal([3L, 4L, 5L], _state.History("k").Select(e => e.Record.ModRevision));
        Assert.Equal(CommandOutcome.Compacted, Apply(Compact(2)).Outcome);
        Assert.Equal(CommandOutcome.FutureRevision, Apply(Compact(9)).Outcome);
    }

    [Fact]
    public void History_keeps_a_bounded_number_of_revisions()
    {
        var state = new KvStateMachine(historyRevisions: 3);
        for (var i = 0; i < 10; i++)
        {
            state.Apply(i, Hash(i), Entry(Put("k", $"v{i}")), []);
        }

        Assert.Equal(8, state.CompactRevision);
        Assert.Equal([8L, 9L, 10L], state.History("k").Select(e => e.Record.ModRevision));
        Assert.Equal("v7", state.Get("k", 8)!.Value.ToStringUtf8());
    }

    [Fact]
    public void Replicas_replaying_one_log_reach_one_state_whatever_their_clocks()
    {
        var log = new List<LogEntry>
        {
            At(100, Grant(1, 5), Grant(2, 30)),
            At(101, PutWithLease("a", "1", 1), PutWithLease("b", "2", 2)),
            At(103, Txn([VersionIs("a", 1)], [PutStep("c", "3")])),
            At(102, Tick()), // a proposer whose clock lags
            At(106, Tick()), // lease 1 is due
            At(107, Compact(2)),
        };
        var first = new KvStateMachine();
        var second = new KvStateMachine();

        for (var i = 0; i < log.Count; i++)
        {
            first.Apply(i, Hash(i), log[i], []);
            second.Apply(i, Hash(i), log[i].Clone(), []);
        }

        Assert.Equal(first.ComputeStateHash(), second.ComputeStateHash());
        Assert.Null(first.Get("a"));
        Assert.NotNull(first.Get("b"));
        Assert.Equal(107_000_000, first.LogTimeMicros);
    }

    [Fact]
    public void Transaction_that_keeps_the_value_of_a_key_an_earlier_step_deleted_is_refused_whole()
    {
        // Neither API sends this (etcd's refuses it, the native one has no ignore_value), but an
        // entry on the log can: applying it must not fault the replicas. Found by reading: the
        // put's pre-check saw the key, the delete before it removed it, and the put then failed.
        Apply(Put("a", "1"));
        var keep = PutStep("a", "unused");
        keep.Put.IgnoreValue = true;

        var result = Apply(Txn([], [DeleteStep("a"), keep]));

        Assert.Equal(CommandOutcome.Rejected, result.Outcome);
        Assert.Contains("an earlier step writes", result.Reason);
        Assert.Equal("1", _state.Get("a")!.Value.ToStringUtf8()); // nothing of it applied

        // Plain puts of one key still apply in order, as the native API has always done.
        Assert.Equal(CommandOutcome.Applied, Apply(Txn([], [PutStep("b", "1"), PutStep("b", "2"), DeleteStep("c")])).Outcome);
        Assert.Equal("2", _state.Get("b")!.Value.ToStringUtf8());
    }

    private CommandResult Apply(Command command) => ApplyAll(command).Single();

    private CommandResult ApplyAt(double seconds, Command command)
    {
        var results = new List<CommandResult>();
        Assert.True(_state.Apply(_offset, Hash(_offset++), At(seconds, command), results));
        return results.Single();
    }

    private List<CommandResult> ApplyAll(params Command[] commands)
    {
        var results = new List<CommandResult>();
        Assert.True(_state.Apply(_offset, Hash(_offset++), Entry(commands), results));
        return results;
    }
}
