using System.Security.Cryptography;
using AspireKv.Node.Snapshots;
using AspireKv.Node.Snapshots.Peer;
using AspireKv.Node.StateMachine;
using AspireKv.Testing;
using Google.Protobuf;

namespace AspireKv.UnitTests;

/// <summary>A snapshot from a peer is used only when it is whole, as announced, of this node's log, and new enough.</summary>
public sealed class PeerSnapshotVerifyTests : IDisposable
{
    private readonly TempDirectory _folder = new("aspirekv-peer-snapshot-test");
    private readonly KvStateMachine _state = new();
    private readonly string _path;

    public PeerSnapshotVerifyTests()
    {
        for (var i = 0; i < 5; i++)
        {
            _state.Apply(i, Commands.Hash(i), Commands.Entry(Commands.Put($"k{i}", "v")), []);
        }

        _path = Path.Combine(_folder.Path, "received.snapshot");
        SnapshotStore.Write(_state.Capture(), "node2", _path);
    }

    public void Dispose() => _folder.Dispose();

    private byte[] Bytes => File.ReadAllBytes(_path);

    private SnapshotInfo Info => new()
    {
        NodeId = "node2",
        LogIdentity = _state.LogIdentity,
        AppliedOffset = _state.AppliedOffset,
        Revision = _state.Revision,
        SizeBytes = Bytes.Length,
        Sha256 = ByteString.CopyFrom(SHA256.HashData(Bytes)),
    };

    [Fact]
    public void A_whole_snapshot_of_this_log_is_accepted_with_the_peers_state()
    {
        var capture = PeerSnapshotFetcher.Verify(_path, Info, Bytes.Length, SHA256.HashData(Bytes), _state.LogIdentity, minAppliedOffset: 4);

        Assert.Equal(_state.ComputeStateHash(), KvStateMachine.Restore(capture).ComputeStateHash());
    }

    [Fact]
    public void A_new_node_with_no_log_identity_yet_accepts_the_peers()
    {
        var capture = PeerSnapshotFetcher.Verify(_path, Info, Bytes.Length, SHA256.HashData(Bytes), ByteString.Empty, minAppliedOffset: 0);

        Assert.Equal(_state.LogIdentity, capture.LogIdentity);
    }

    [Fact]
    public void A_snapshot_damaged_on_the_way_is_refused()
    {
        var info = Info;
        var bytes = Bytes;
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(_path, bytes);

        var error = Assert.Throws<InvalidDataException>(() => PeerSnapshotFetcher.Verify(_path, info, bytes.Length, SHA256.HashData(bytes), _state.LogIdentity, 0));

        Assert.Contains("does not match the checksum the peer announced", error.Message);
    }

    [Fact]
    public void A_snapshot_whose_own_checksum_fails_is_refused_even_when_the_announced_one_matches()
    {
        var bytes = Bytes;
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(_path, bytes);
        var info = Info; // announced over the damaged bytes, as a faulty peer would

        var error = Assert.Throws<InvalidDataException>(() => PeerSnapshotFetcher.Verify(_path, info, bytes.Length, SHA256.HashData(bytes), _state.LogIdentity, 0));

        Assert.Contains("checksum does not match", error.Message);
    }

    [Fact]
    public void A_snapshot_of_another_log_is_refused()
    {
        var other = ByteString.CopyFrom(SHA256.HashData("another log"u8));

        var error = Assert.Throws<InvalidDataException>(() => PeerSnapshotFetcher.Verify(_path, Info, Bytes.Length, SHA256.HashData(Bytes), other, 0));

        Assert.Contains("is of another log", error.Message);
    }

    [Fact]
    public void A_snapshot_whose_identity_is_not_the_announced_one_is_refused()
    {
        var info = Info;
        info.LogIdentity = ByteString.CopyFrom(SHA256.HashData("another log"u8));

        var error = Assert.Throws<InvalidDataException>(() => PeerSnapshotFetcher.Verify(_path, info, Bytes.Length, SHA256.HashData(Bytes), ByteString.Empty, 0));

        Assert.Contains("another log identity than the peer announced", error.Message);
    }

    [Fact]
    public void A_snapshot_that_ends_before_what_the_log_still_holds_is_refused()
    {
        var error = Assert.Throws<InvalidDataException>(() => PeerSnapshotFetcher.Verify(_path, Info, Bytes.Length, SHA256.HashData(Bytes), _state.LogIdentity, minAppliedOffset: 10));

        Assert.Contains("before offset 10", error.Message);
    }

    [Fact]
    public void A_snapshot_cut_short_is_refused()
    {
        var error = Assert.Throws<InvalidDataException>(() => PeerSnapshotFetcher.Verify(_path, Info, Bytes.Length - 1, SHA256.HashData(Bytes), _state.LogIdentity, 0));

        Assert.Contains("the peer announced", error.Message);
    }
}
