using System.Buffers.Binary;
using System.Security.Cryptography;
using AspireKv.Node.Snapshots.Wire;
using AspireKv.Node.StateMachine;
using AspireKv.V1;
using Google.Protobuf;

namespace AspireKv.Node.Snapshots;

/// <summary>
/// Writes and reads a node's snapshot file. A snapshot is written to a temporary file, flushed to
/// disk and renamed over the old one, so a crash leaves either the old or the new snapshot whole.
/// Its header carries a format version and a SHA-256 of the body, checked before anything is loaded.
/// </summary>
public sealed class SnapshotStore(string directory)
{
    public const string FileName = "snapshot.akv";

    /// <summary>The format this version writes; it reads this one and every one before it.</summary>
    public const uint FormatVersion = 4;
    private const int HeaderSize = 8 + 4 + 8 + 32;
    private static readonly byte[] Magic = "AKVSNAP1"u8.ToArray();

    private volatile SnapshotSummary? _last;

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    /// <summary>The snapshot this node last wrote, loaded or installed; null while it has none.</summary>
    public SnapshotSummary? Last => _last;

    public void Save(StateCapture capture, string nodeId)
    {
        Write(capture, nodeId, Path);
        Record(capture, "written");
    }

    /// <summary>Notes that the file at <see cref="Path"/> now holds <paramref name="capture"/>, and where it came from.</summary>
    public void Record(StateCapture capture, string source) => _last = new SnapshotSummary
    {
        AppliedLogOffset = capture.AppliedOffset,
        Revision = capture.Revision,
        WrittenUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        SizeBytes = File.Exists(Path) ? new FileInfo(Path).Length : 0,
        Source = source,
    };

    /// <summary>
    /// Writes <paramref name="capture"/> as a snapshot file at <paramref name="path"/>: to a
    /// temporary file first, flushed to disk and renamed over it, so a crash leaves either the old
    /// file or the new one whole.
    /// </summary>
    public static void Write(StateCapture capture, string nodeId, string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
        {
            file.Write(new byte[HeaderSize]);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var body = new HashingStream(file, hash))
            {
                var header = new SnapshotHeader
                {
                    Revision = capture.Revision,
                    AppliedOffset = capture.AppliedOffset,
                    SkippedEntries = capture.SkippedEntries,
                    KeyCount = capture.Keys.Count,
                    NodeId = nodeId,
                    CreatedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                    RememberedFrom = capture.RememberedFrom,
                    LogIdentity = capture.LogIdentity,
                    LastEntryHash = capture.LastEntryHash,
                    LeaseCount = capture.Leases.Count,
                    HistoryCount = capture.History.Count,
                    CompactRevision = capture.CompactRevision,
                    LogTimeMicros = capture.LogTimeMicros,
                    Auth = capture.Auth?.ToByteString() ?? ByteString.Empty,
                };
                header.RecentCommandIds.AddRange(capture.RecentIds.Select(r => ByteString.CopyFrom(r.Id.ToByteArray())));
                header.RecentCommandOffsets.AddRange(capture.RecentIds.Select(r => r.Offset));
                // One buffered protobuf writer for the whole body: a writer per message (WriteDelimitedTo)
                // would allocate a buffer for each of a million keys and hash them a few bytes at a time.
                using var output = new CodedOutputStream(body, leaveOpen: true);
                WriteDelimited(output, header);

                // In key order, so that a snapshot of the same state is the same file on every
                // node; encoded straight from the key space's own bytes, without an object per key.
                output.Flush();
                var keys = new SnapshotKeyWriter(body);
                foreach (var view in capture.Keys.Views())
                {
                    keys.Write(view);
                }

                keys.Flush();

                foreach (var lease in capture.Leases)
                {
                    WriteDelimited(output, new SnapshotLease { Id = lease.Id, TtlSeconds = lease.TtlSeconds, ExpiresAtMicros = lease.ExpiresAtMicros });
                }

                foreach (var revision in capture.History)
                {
                    var message = new SnapshotRevision { Revision = revision.Revision };
                    message.Events.AddRange(revision.Events.Select(e => new SnapshotEvent
                    {
                        Delete = e.Type == EventType.Delete,
                        Entry = e.Record.ToEntry(),
                        Previous = e.Previous?.ToEntry(),
                    }));
                    WriteDelimited(output, message);
                }

                output.Flush();
            }

            var headerBytes = new byte[HeaderSize];
            Magic.CopyTo(headerBytes, 0);
            BinaryPrimitives.WriteUInt32LittleEndian(headerBytes.AsSpan(8), FormatVersion);
            BinaryPrimitives.WriteUInt64LittleEndian(headerBytes.AsSpan(12), (ulong)(file.Length - HeaderSize));
            hash.GetHashAndReset().CopyTo(headerBytes, 20);
            file.Position = 0;
            file.Write(headerBytes);
            file.Flush(flushToDisk: true);
        }

        Install(temporary, path);
    }

    /// <summary>Renames <paramref name="source"/> (a whole, flushed snapshot file) over <paramref name="path"/>, durably.</summary>
    public static void Install(string source, string path)
    {
        File.Move(source, path, overwrite: true);

        // The rename is durable only once the folder that holds it is.
        Fsync.Directory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
    }

    /// <summary>What <see cref="MessageExtensions.WriteDelimitedTo(IMessage, Stream)"/> writes: the length, then the message.</summary>
    private static void WriteDelimited(CodedOutputStream output, IMessage message)
    {
        output.WriteLength(message.CalculateSize());
        message.WriteTo(output);
    }

    /// <summary>Loads the snapshot; null when there is none. Throws <see cref="InvalidDataException"/> when it is damaged.</summary>
    public StateCapture? Load()
    {
        var capture = Read(Path);
        if (capture is not null)
        {
            Record(capture, "loaded");
        }

        return capture;
    }

    /// <summary>Reads the snapshot file at <paramref name="path"/>; null when there is none. Throws <see cref="InvalidDataException"/> when it is damaged.</summary>
    public static StateCapture? Read(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var header = new byte[HeaderSize];
        if (file.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize || !header.AsSpan(0, 8).SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{path} is not an AspireKv snapshot (bad header).");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        if (version is < 1 or > FormatVersion)
        {
            throw new InvalidDataException($"{path} has snapshot format {version}; this node reads formats 1 to {FormatVersion}.");
        }

        var length = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(12));
        if (length != (ulong)(file.Length - HeaderSize))
        {
            throw new InvalidDataException($"{path} is truncated: its header promises {length} bytes, the file holds {file.Length - HeaderSize}.");
        }

        var checksum = SHA256.HashData(file);
        if (!checksum.AsSpan().SequenceEqual(header.AsSpan(20, 32)))
        {
            throw new InvalidDataException($"{path} is damaged: its checksum does not match.");
        }

        file.Position = HeaderSize;
        var meta = SnapshotHeader.Parser.ParseDelimitedFrom(file);
        var keys = new KeySpace();
        for (long i = 0; i < meta.KeyCount; i++)
        {
            var key = SnapshotKey.Parser.ParseDelimitedFrom(file);
            keys.Set(key.Key.Span, key.Value.Span, key.CreateRevision, key.ModRevision, key.Version, key.Lease);
        }

        // Format 1 kept no offsets: its ids count as applied at the snapshot's offset, and the
        // window as covering everything (format 1 nodes never refused stale entries either).
        var offsets = meta.RecentCommandOffsets.Count == meta.RecentCommandIds.Count
            ? meta.RecentCommandOffsets
            : Enumerable.Repeat(meta.AppliedOffset, meta.RecentCommandIds.Count);
        var recent = meta.RecentCommandIds.Zip(offsets, (id, offset) => (offset, new Guid(id.Span))).ToList();
        var leases = new List<LeaseInfo>((int)meta.LeaseCount);
        for (long i = 0; i < meta.LeaseCount; i++)
        {
            var lease = SnapshotLease.Parser.ParseDelimitedFrom(file);
            leases.Add(new LeaseInfo(lease.Id, lease.TtlSeconds, lease.ExpiresAtMicros));
        }

        var history = new List<RevisionEvents>((int)meta.HistoryCount);
        for (long i = 0; i < meta.HistoryCount; i++)
        {
            var revision = SnapshotRevision.Parser.ParseDelimitedFrom(file);
            history.Add(new RevisionEvents(revision.Revision, [.. revision.Events.Select(e => new KvEvent(
                e.Delete ? EventType.Delete : EventType.Put,
                KeyRecord.FromEntry(e.Entry),
                e.Previous is null ? null : KeyRecord.FromEntry(e.Previous)))]));
        }

        return new StateCapture(meta.Revision, meta.AppliedOffset, meta.SkippedEntries, keys.Copy(), recent, meta.RememberedFrom, meta.LogIdentity, meta.LastEntryHash)
        {
            Leases = leases,
            History = history,
            CompactRevision = meta.CompactRevision,
            LogTimeMicros = meta.LogTimeMicros,
            Auth = meta.Auth.IsEmpty ? null : Commands.AuthState.Parser.ParseFrom(meta.Auth),
        };
    }

    /// <summary>Passes writes through to a stream while hashing them.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            // The file belongs to the caller.
        }
    }
}
