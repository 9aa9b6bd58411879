using AspireKv.Node.Replication;
using AspireKv.Node.Snapshots;
using AspireKv.Node.StateMachine;
using AspireKv.Testing;
using AspireKv.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireKv.UnitTests;

public sealed class SnapshotStoreTests : IDisposable
{
    private readonly TempDirectory _folder = new("aspirekv-snapshot-test");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Snapshot_round_trips_the_whole_replicated_state()
    {
        var state = StateWithHistory();
        var store = new SnapshotStore(_folder.Path);

        store.Save(state.Capture(), "node1");
        var restored = KvStateMachine.Restore(store.Load()!);

        Assert.Equal(state.ComputeStateHash(), restored.ComputeStateHash());
        Assert.Equal(state.AppliedOffset, restored.AppliedOffset);
        Assert.Equal(state.Revision, restored.Revision);
        Assert.Equal("v2", restored.Get("a")!.Value.ToStringUtf8());
    }

    [Fact]
    public void A_snapshot_lists_keys_in_key_order_however_they_were_written()
    {
        // The key space orders keys by their UTF-8 bytes, and the file keeps that order.
        var state = new KvStateMachine();
        var keys = new[] { "m", "b", "z/2", "a", "z/10", "é", "B" };
        for (var i = 0; i < keys.Length; i++)
        {
            state.Apply(i, Commands.Hash(i), Commands.Entry(Commands.Put(keys[i], "v")), []);
        }

        var store = new SnapshotStore(_folder.Path);
        store.Save(state.Capture(), "node1");
        var loaded = store.Load()!;

        Assert.Equal(keys.Order(Utf8KeyComparer.Instance), loaded.Keys.Records().Select(r => r.Key));
        Assert.Equal(state.ComputeStateHash(), KvStateMachine.Restore(loaded).ComputeStateHash());
    }

    [Theory]
    [InlineData(100, 10_000)] // a small state: the interval
    [InlineData(3_000, 30_000)] // a snapshot that took 3 s: ten times that
    public void The_wait_between_snapshots_grows_with_how_long_one_takes(int tookMs, int waitMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(waitMs), SnapshotScheduler.NextWait(TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(tookMs)));

    [Fact]
    public async Task A_background_snapshot_is_captured_at_the_nodes_priority_and_only_written_at_a_lower_one()
    {
        // The capture holds the apply lock. Taken on a thread already at nice 10, it could be kept
        // off a busy core while every write and read on the node waited for that lock.
        await using var replica = TestReplicas.Create(new InMemoryReplicationLog(), "node1");
        await replica.StartAsync(CancellationToken.None);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (replica.Health.Health != ReplicaHealth.Serving)
            {
                await Task.Delay(10, timeout.Token);
            }
        }

        await replica.ProposeAsync(Commands.Put("a", "1"), CancellationToken.None);
        var steps = new List<(SnapshotStep Step, int Nice)>();
        var scheduler = new SnapshotScheduler(replica, new SnapshotStore(_folder.Path), TimeSpan.FromHours(1), NullLogger<SnapshotScheduler>.Instance)
        {
            OnStep = step => steps.Add((step, BackgroundPriorityTests.NiceOfThisThread())),
        };
        var nodeNice = BackgroundPriorityTests.NiceOfThisThread();
        Assert.NotEqual(BackgroundPriority.Nice, nodeNice);

        await scheduler.SaveInBackground();

        Assert.Equal([(SnapshotStep.Captured, nodeNice), (SnapshotStep.Written, BackgroundPriority.Nice)], steps);
        Assert.NotNull(new SnapshotStore(_folder.Path).Load());
    }

    [Fact]
    public void Snapshot_keeps_leases_history_the_compact_revision_and_the_log_clock()
    {
        var state = new KvStateMachine();
        state.Apply(0, Commands.Hash(0), Commands.At(100, Commands.Grant(7, 60)), []);
        state.Apply(1, Commands.Hash(1), Commands.At(101, Commands.PutWithLease("held", "x", 7), Commands.Put("free", "1")), []);
        state.Apply(2, Commands.Hash(2), Commands.At(102, Commands.Put("free", "2"), Commands.Delete("free")), []);
        state.Apply(3, Commands.Hash(3), Commands.At(103, Commands.Compact(2)), []);
        var store = new SnapshotStore(_folder.Path);

        store.Save(state.Capture(), "node1");
        var restored = KvStateMachine.Restore(store.Load()!);

        Assert.Equal(state.ComputeStateHash(), restored.ComputeStateHash());
        Assert.Equal(103_000_000, restored.LogTimeMicros);
        Assert.Equal(2, restored.CompactRevision);
        Assert.Equal(["held"], restored.FindLease(7)!.Keys);
        Assert.Equal(state.History("free").Select(e => (e.Type, e.Record.ModRevision)), restored.History("free").Select(e => (e.Type, e.Record.ModRevision)));
        Assert.Equal("1", restored.Get("free", 2)!.Value.ToStringUtf8());

        // The lease still expires by the log's clock after the restore.
        var results = new List<CommandResult>();
        restored.Apply(4, Commands.Hash(4), Commands.At(161, Commands.Tick()), results);
        Assert.Null(restored.Get("held"));
    }

    [Fact]
    public void Format_2_snapshot_loads_and_its_unknown_history_counts_as_compacted()
    {
        // Format 2 had keys, counters and the dedup window, but no leases, history, compact revision or log clock.
        using (var body = new MemoryStream())
        {
            new Node.Snapshots.Wire.SnapshotHeader { Revision = 5, AppliedOffset = 9, KeyCount = 1, NodeId = "node1", RememberedFrom = 0 }.WriteDelimitedTo(body);
            new Entry { Key = "a", Value = ByteString.CopyFromUtf8("old"), CreateRevision = 2, ModRevision = 5, Version = 3 }.WriteDelimitedTo(body);
            var header = new byte[52];
            "AKVSNAP1"u8.CopyTo(header);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 2);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(12), (ulong)body.Length);
            System.Security.Cryptography.SHA256.HashData(body.ToArray()).CopyTo(header, 20);
            File.WriteAllBytes(_folder.Combine(SnapshotStore.FileName), [.. header, .. body.ToArray()]);
        }

        var restored = KvStateMachine.Restore(new SnapshotStore(_folder.Path).Load()!);

        Assert.Equal((5L, 9L), (restored.Revision, restored.AppliedOffset));
        Assert.Equal(("old", 3L), (restored.Get("a")!.Value.ToStringUtf8(), restored.Get("a")!.Version));
        Assert.Empty(restored.Leases());

        // Revision 5's events are not in the snapshot, so a watch or history from 5 must not pretend to replay them.
        Assert.Equal(6, restored.CompactRevision);
        Assert.Equal("old", restored.Get("a", 5)!.Value.ToStringUtf8());
        restored.Apply(10, Commands.Hash(10), Commands.At(100, Commands.Put("a", "new")), []);
        Assert.Equal([6L], restored.History("a").Select(e => e.Record.ModRevision));
    }

    [Fact]
    public void Restored_state_still_drops_commands_it_applied_before_the_snapshot()
    {
        var id = Guid.NewGuid();
        var state = new KvStateMachine();
        state.Apply(0, Commands.Hash(0), Commands.Entry(Commands.Put("a", "1", id: id)), []);
        var store = new SnapshotStore(_folder.Path);
        store.Save(state.Capture(), "node1");

        var restored = KvStateMachine.Restore(store.Load()!);
        var results = new List<CommandResult>();
        restored.Apply(1, Commands.Hash(1), Commands.Entry(Commands.Put("a", "2", id: id)), results);

        Assert.Equal(CommandOutcome.Duplicate, results.Single().Outcome);
    }

    [Fact]
    public void Missing_snapshot_loads_as_nothing() => Assert.Null(new SnapshotStore(_folder.Path).Load());

    [Fact]
    public void Damaged_snapshot_is_refused()
    {
        var store = new SnapshotStore(_folder.Path);
        store.Save(StateWithHistory().Capture(), "node1");
        var bytes = File.ReadAllBytes(store.Path);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(store.Path, bytes);

        var ex = Assert.Throws<InvalidDataException>(store.Load);

        Assert.Contains("checksum", ex.Message);
    }

    [Fact]
    public void Truncated_snapshot_is_refused()
    {
        var store = new SnapshotStore(_folder.Path);
        store.Save(StateWithHistory().Capture(), "node1");
        var bytes = File.ReadAllBytes(store.Path);
        File.WriteAllBytes(store.Path, bytes[..^10]);

        Assert.Throws<InvalidDataException>(store.Load);
    }

    [Fact]
    public void File_that_is_not_a_snapshot_is_refused()
    {
        var store = new SnapshotStore(_folder.Path);
        File.WriteAllText(store.Path, "hello");

        Assert.Throws<InvalidDataException>(store.Load);
    }

    [Fact]
    public void Saving_replaces_the_old_snapshot_and_leaves_no_temporary_file()
    {
        var store = new SnapshotStore(_folder.Path);
        var state = StateWithHistory();
        store.Save(state.Capture(), "node1");
        state.Apply(100, Commands.Hash(100), Commands.Entry(Commands.Put("z", "last")), []);

        store.Save(state.Capture(), "node1");

        Assert.Equal(100, store.Load()!.AppliedOffset);
        Assert.Equal([SnapshotStore.FileName], Directory.GetFiles(_folder.Path).Select(Path.GetFileName));
    }

    private static KvStateMachine StateWithHistory()
    {
        var state = new KvStateMachine();
        var results = new List<CommandResult>();
        state.Apply(0, Commands.Hash(0), Commands.Entry(Commands.Put("a", "v1"), Commands.Put("b", "x"), Commands.Put("\U0001F600", "emoji")), results);
        state.Apply(1, Commands.Hash(1), Commands.Entry(Commands.Put("a", "v2"), Commands.Delete("b")), results);
        state.Skip(2, Commands.Hash(2));
        return state;
    }
}
