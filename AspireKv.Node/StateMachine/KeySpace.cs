using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Google.Protobuf;

namespace AspireKv.Node.StateMachine;

/// <summary>A key as the key space holds it: its UTF-8 bytes, its value and its counters.</summary>
public readonly record struct KeyView(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value, long CreateRevision, long ModRevision, long Version, long Lease)
{
    /// <summary>The key as a record; its value shares the key space's bytes, which are never written over.</summary>
    public KeyRecord ToRecord(string? key = null) => new(
        key ?? Encoding.UTF8.GetString(Key.Span),
        Value.IsEmpty ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(Value),
        CreateRevision,
        ModRevision,
        Version,
        Lease);
}

/// <summary>
/// The keys that exist now, each with its value and counters, in UTF-8 byte order. Used by one
/// thread at a time.
/// </summary>
/// <remarks>
/// A million keys must fit in a few hundred megabytes and cost the garbage collector nothing, so
/// there is no object per key:
/// <list type="bullet">
/// <item>keys and values are appended to large byte chunks, and bytes once written are never
/// written over: a changed value goes to the end of the newest chunk, and a chunk that has become
/// mostly garbage has its live entries moved on and is dropped;</item>
/// <item>each entry is the key, its counters as varints and the value, so that a key with a
/// short name and value costs little more than its bytes;</item>
/// <item>pages of slots (a chunk and an offset each) hold each key's place;</item>
/// <item>a hash table of slot numbers finds a key, and <see cref="OrderedSlots"/> orders
/// them.</item>
/// </list>
/// A record read from the key space shares its chunk. A copy for a snapshot shares the chunks and
/// the pages of slots and of the order, so taking one costs a few thousand references while writes
/// wait; a shared page is copied the next time it changes.
/// </remarks>
public sealed class KeySpace
{
    /// <summary>The size chunks grow to; an entry larger than that gets a chunk of its own.</summary>
    public const int DefaultChunkSize = 1 << 20;

    internal const int SlotPageBits = 12; // 4,096 slots, 32 KiB
    internal const int SlotPageMask = (1 << SlotPageBits) - 1;
    private const int FirstChunkSize = 4096;

    private readonly int _chunkSize;
    private readonly OrderedSlots _order;
    private readonly Stack<int> _freeChunks = new();
    private readonly List<int> _sealed = [];
    private Slot[][] _slotPages = [];
    private bool[] _sharedSlotPages = [];
    private int _usedSlots;
    private int[] _hashes = new int[16];
    private int[] _next = new int[16]; // the next slot + 1 in a hash chain, or in the free list; 0 for none
    private int _freeSlot = -1;
    private int[] _buckets = new int[16]; // slot + 1 of each chain's head; 0 for none
    private Chunk[] _chunks = new Chunk[4];
    private int _usedChunks;
    private int _current = -1;
    private int _nextChunkSize = FirstChunkSize;
    private int _version;
    private byte[] _scratch = new byte[256];

    public KeySpace(int chunkSize = DefaultChunkSize)
    {
        _chunkSize = Math.Max(chunkSize, 64);
        _order = new OrderedSlots(KeyOf);
    }

    public int Count { get; private set; }

    /// <summary>Bytes held in chunks (live entries and garbage not yet reclaimed), for tests and diagnostics.</summary>
    public long ChunkBytes
    {
        get
        {
            long total = 0;
            for (var c = 0; c < _usedChunks; c++)
            {
                total += _chunks[c].Data?.Length ?? 0;
            }

            return total;
        }
    }

    public KeyRecord? Get(string key)
    {
        var bytes = Utf8(key);
        var slot = Find(bytes, Hash(bytes));
        return slot < 0 ? null : View(SlotAt(slot), _chunks).ToRecord(key);
    }

    public void Set(KeyRecord record) =>
        Set(Utf8(record.Key), record.Value.Span, record.CreateRevision, record.ModRevision, record.Version, record.Lease);

    public void Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long createRevision, long modRevision, long version, long lease)
    {
        var hash = Hash(key);
        var slot = Find(key, hash);
        var entry = new EntryHead(key.Length, value.Length, createRevision, modRevision, version, lease);
        if (slot >= 0)
        {
            var (oldChunk, oldSize) = (SlotAt(slot).Chunk - 1, EntrySize(SlotAt(slot), _chunks));
            Append(slot, entry, key, value);
            Release(oldChunk, oldSize);
        }
        else
        {
            slot = NewSlot();
            Append(slot, entry, key, value);
            _hashes[slot] = hash;
            Link(slot);
            _order.Insert(slot, key);
            Count++;
            _version++;
        }

        CompactSealedChunks();
    }

    public void Remove(string key)
    {
        var bytes = Utf8(key);
        var hash = Hash(bytes);
        var slot = Find(bytes, hash);
        if (slot < 0)
        {
            return;
        }

        Unlink(slot, hash);
        _order.Remove(slot, bytes);
        var (chunk, size) = (SlotAt(slot).Chunk - 1, EntrySize(SlotAt(slot), _chunks));
        Writable(slot) = default; // free, before the release, which may move the chunk's live entries
        _next[slot] = _freeSlot + 1;
        _freeSlot = slot;
        Count--;
        _version++;
        Release(chunk, size);
        CompactSealedChunks();
    }

    /// <summary>Every record in order.</summary>
    public IEnumerable<KeyRecord> All() => Views(0, 0).Select(v => v.ToRecord());

    /// <summary>Every key in order, without a record or a string for each.</summary>
    public IEnumerable<KeyView> Views() => Views(0, 0);

    /// <summary>The records in <paramref name="range"/>, in order, starting after <paramref name="startAfter"/> when given.</summary>
    public IEnumerable<KeyRecord> InRange(KeyRange range, string? startAfter = null)
    {
        if (range.IsSingle)
        {
            return startAfter is null && Get(range.Start) is { } single ? [single] : [];
        }

        var start = startAfter is not null && Utf8KeyComparer.Instance.Compare(startAfter, range.Start) > 0 ? startAfter : range.Start;
        var (page, index) = _order.Seek(Utf8(start));
        return InRange(page, index, range.End!, startAfter is null ? null : Encoding.UTF8.GetBytes(startAfter));
    }

    /// <summary>
    /// Every key as it is now, for a snapshot, taken while writes wait: it shares the chunks and
    /// the pages, so it costs a reference per page, and each shared page is copied before it next
    /// changes here.
    /// </summary>
    public KeySpaceCopy Copy()
    {
        var pages = _slotPages[..((_usedSlots + SlotPageMask) >> SlotPageBits)];
        Array.Fill(_sharedSlotPages, true);
        return new KeySpaceCopy(pages, _chunks[.._usedChunks], _order.Share(), Count);
    }

    /// <summary>A key space that holds what <paramref name="copy"/> holds, and goes on from there on its own.</summary>
    public static KeySpace FromCopy(KeySpaceCopy copy)
    {
        var space = new KeySpace();
        space._slotPages = [.. copy.SlotPages];
        space._sharedSlotPages = new bool[space._slotPages.Length];
        Array.Fill(space._sharedSlotPages, true);
        space._usedSlots = space._slotPages.Length << SlotPageBits;
        space._chunks = new Chunk[Math.Max(4, copy.Chunks.Length)];
        Array.Copy(copy.Chunks, space._chunks, copy.Chunks.Length);
        space._usedChunks = copy.Chunks.Length;
        space._nextChunkSize = DefaultChunkSize;

        // Appends go to new chunks (_current is none): the copy's chunks may be shared with
        // another key space, which may go on appending to one of them.
        for (var c = 0; c < space._usedChunks; c++)
        {
            if (space._chunks[c].Data is null)
            {
                space._freeChunks.Push(c);
            }
        }

        space._hashes = new int[space._usedSlots];
        space._next = new int[space._usedSlots];
        space._buckets = new int[BucketCountFor(copy.Count)];
        for (var slot = space._usedSlots - 1; slot >= 0; slot--)
        {
            ref readonly var place = ref space.SlotAt(slot);
            if (place.Chunk == 0)
            {
                space._next[slot] = space._freeSlot + 1;
                space._freeSlot = slot;
            }
            else
            {
                space._hashes[slot] = Hash(KeyOf(place, space._chunks).Span);
                space.Link(slot);
            }
        }

        space._order.Load(copy.OrderPages);
        space.Count = copy.Count;
        return space;
    }

    internal static ReadOnlyMemory<byte> KeyOf(in Slot slot, Chunk[] chunks)
    {
        var data = chunks[slot.Chunk - 1].Data!;
        var at = slot.Offset + sizeof(int);
        var keyLength = (int)Varint.Read(data, ref at);
        return data.AsMemory(at, keyLength);
    }

    internal static KeyView View(in Slot slot, Chunk[] chunks)
    {
        var data = chunks[slot.Chunk - 1].Data!;
        var at = slot.Offset + sizeof(int);
        var head = EntryHead.Read(data, ref at, out var keyAt);
        return new KeyView(data.AsMemory(keyAt, head.KeyLength), data.AsMemory(at, head.ValueLength), head.CreateRevision, head.ModRevision, head.Version, head.Lease);
    }

    /// <summary>The bytes of the entry a slot points at.</summary>
    private static int EntrySize(in Slot slot, Chunk[] chunks) => EntrySize(chunks[slot.Chunk - 1].Data!, slot.Offset);

    private static int EntrySize(byte[] data, int offset)
    {
        var at = offset + sizeof(int);
        var head = EntryHead.Read(data, ref at, out _);
        return at + head.ValueLength - offset;
    }

    private static int Hash(ReadOnlySpan<byte> key)
    {
        // Seeded per process, so that no client can choose keys that collide.
        var hash = default(HashCode);
        hash.AddBytes(key);
        return hash.ToHashCode();
    }

    private static int BucketCountFor(int count) => (int)Math.Max(16, BitOperations.RoundUpToPowerOf2((uint)count));

    private ref readonly Slot SlotAt(int slot) => ref _slotPages[slot >> SlotPageBits][slot & SlotPageMask];

    /// <summary>The slot, to change: its page is copied first if a copy of the key space shares it.</summary>
    private ref Slot Writable(int slot)
    {
        var page = slot >> SlotPageBits;
        if (_sharedSlotPages[page])
        {
            _slotPages[page] = (Slot[])_slotPages[page].Clone();
            _sharedSlotPages[page] = false;
        }

        return ref _slotPages[page][slot & SlotPageMask];
    }

    private ReadOnlySpan<byte> KeyOf(int slot) => KeyOf(SlotAt(slot), _chunks).Span;

    private IEnumerable<KeyRecord> InRange(int page, int index, byte[] end, byte[]? skip)
    {
        foreach (var view in Views(page, index))
        {
            if (end.Length > 0 && view.Key.Span.SequenceCompareTo(end) >= 0)
            {
                yield break;
            }

            if (skip is null || !view.Key.Span.SequenceEqual(skip))
            {
                yield return view.ToRecord();
            }
        }
    }

    /// <summary>
    /// <paramref name="key"/>'s UTF-8 bytes, in a buffer the key space reuses: valid until the next
    /// call (the key space is used by one thread at a time).
    /// </summary>
    private ReadOnlySpan<byte> Utf8(string key)
    {
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        if (_scratch.Length < max)
        {
            _scratch = new byte[max];
        }

        return _scratch.AsSpan(0, Encoding.UTF8.GetBytes(key, _scratch));
    }

    private IEnumerable<KeyView> Views(int page, int index)
    {
        var version = _version;
        for (; page < _order.PageCount; page++, index = 0)
        {
            for (; index < _order.CountIn(page); index++)
            {
                yield return View(SlotAt(_order.At(page, index)), _chunks);
                if (version != _version)
                {
                    throw new InvalidOperationException("The key space changed while its keys were being read.");
                }
            }
        }
    }

    private int Find(ReadOnlySpan<byte> key, int hash)
    {
        for (var slot = _buckets[hash & (_buckets.Length - 1)] - 1; slot >= 0; slot = _next[slot] - 1)
        {
            if (_hashes[slot] == hash && KeyOf(slot).SequenceEqual(key))
            {
                return slot;
            }
        }

        return -1;
    }

    private void Link(int slot)
    {
        ref var head = ref _buckets[_hashes[slot] & (_buckets.Length - 1)];
        _next[slot] = head;
        head = slot + 1;
    }

    private void Unlink(int slot, int hash)
    {
        ref var link = ref _buckets[hash & (_buckets.Length - 1)];
        while (link != slot + 1)
        {
            link = ref _next[link - 1];
        }

        link = _next[slot];
    }

    private int NewSlot()
    {
        if (Count + 1 > _buckets.Length)
        {
            _buckets = new int[_buckets.Length * 2];
            for (var slot = 0; slot < _usedSlots; slot++)
            {
                if (SlotAt(slot).Chunk > 0)
                {
                    Link(slot);
                }
            }
        }

        if (_freeSlot >= 0)
        {
            var slot = _freeSlot;
            _freeSlot = _next[slot] - 1;
            return slot;
        }

        if (_usedSlots == _slotPages.Length << SlotPageBits)
        {
            _slotPages = [.. _slotPages, new Slot[1 << SlotPageBits]];
            _sharedSlotPages = [.. _sharedSlotPages, false];
        }

        if (_usedSlots == _hashes.Length)
        {
            Array.Resize(ref _hashes, _hashes.Length * 2);
            Array.Resize(ref _next, _next.Length * 2);
        }

        return _usedSlots++;
    }

    /// <summary>Writes <paramref name="slot"/>'s entry at the end of the newest chunk (or a chunk of its own) and points the slot there.</summary>
    private void Append(int slot, in EntryHead head, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var entry = Reserve(slot, sizeof(int) + head.Size);
        BinaryPrimitives.WriteInt32LittleEndian(entry, slot);
        var at = head.Write(entry, sizeof(int), key);
        value.CopyTo(entry[at..]);
    }

    /// <summary>Room for an entry of <paramref name="size"/> bytes for <paramref name="slot"/>, which now points there.</summary>
    private Span<byte> Reserve(int slot, int size)
    {
        int chunk;
        if (size > _chunkSize)
        {
            chunk = NewChunk(size);
        }
        else
        {
            if (_current < 0 || _chunks[_current].Used + size > _chunks[_current].Data!.Length)
            {
                if (_current >= 0)
                {
                    _sealed.Add(_current);
                }

                while (_nextChunkSize < size)
                {
                    _nextChunkSize *= 2;
                }

                _current = NewChunk(Math.Min(_nextChunkSize, _chunkSize));
                _nextChunkSize = Math.Min(_nextChunkSize * 2, _chunkSize);
            }

            chunk = _current;
        }

        ref var target = ref _chunks[chunk];
        var offset = target.Used;
        target.Used += size;
        target.Live += size;
        Writable(slot) = new Slot { Chunk = chunk + 1, Offset = offset };
        return target.Data.AsSpan(offset, size);
    }

    private int NewChunk(int size)
    {
        if (!_freeChunks.TryPop(out var chunk))
        {
            if (_usedChunks == _chunks.Length)
            {
                Array.Resize(ref _chunks, _chunks.Length * 2);
            }

            chunk = _usedChunks++;
        }

        _chunks[chunk] = new Chunk { Data = GC.AllocateUninitializedArray<byte>(size) };
        return chunk;
    }

    /// <summary>An entry in <paramref name="chunk"/> is garbage now; a chunk that is not being appended to is compacted once a quarter of it is.</summary>
    private void Release(int chunk, int size)
    {
        _chunks[chunk].Live -= size;
        if (chunk != _current && !_sealed.Contains(chunk) && IsMostlyGarbage(chunk))
        {
            Compact(chunk);
        }
    }

    private bool IsMostlyGarbage(int chunk) => _chunks[chunk].Live * 4L < _chunks[chunk].Used * 3L;

    /// <summary>Compacts the chunks that filled up since the last write, if they are mostly garbage already.</summary>
    private void CompactSealedChunks()
    {
        while (_sealed.Count > 0)
        {
            var chunk = _sealed[^1];
            _sealed.RemoveAt(_sealed.Count - 1);
            if (_chunks[chunk].Data is not null && IsMostlyGarbage(chunk))
            {
                Compact(chunk);
            }
        }
    }

    /// <summary>Moves <paramref name="chunk"/>'s live entries to the newest chunk and drops it. Its bytes stay as they were for whoever still reads them.</summary>
    private void Compact(int chunk)
    {
        var data = _chunks[chunk].Data!;
        var used = _chunks[chunk].Used;
        for (var offset = 0; offset < used;)
        {
            var slot = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset));
            var size = EntrySize(data, offset);
            if (slot < _usedSlots && SlotAt(slot).Chunk == chunk + 1 && SlotAt(slot).Offset == offset)
            {
                data.AsSpan(offset, size).CopyTo(Reserve(slot, size)); // the same bytes, slot number and all
            }

            offset += size;
        }

        _chunks[chunk] = default;
        _freeChunks.Push(chunk);
    }

    /// <summary>Where a key's entry is.</summary>
    internal struct Slot
    {
        public int Chunk; // the chunk's index + 1; 0 when the slot is free
        public int Offset;
    }

    /// <summary>
    /// An entry's lengths and counters. In a chunk an entry is the slot number (4 bytes, for
    /// compaction), the key's length (a varint) and the key, then the value's length and the
    /// four counters (varints), then the value.
    /// </summary>
    internal readonly record struct EntryHead(int KeyLength, int ValueLength, long CreateRevision, long ModRevision, long Version, long Lease)
    {
        /// <summary>The bytes after the slot number.</summary>
        public int Size =>
            Varint.Size((ulong)KeyLength) + KeyLength + Varint.Size((ulong)ValueLength) + Varint.Size((ulong)CreateRevision)
            + Varint.Size((ulong)ModRevision) + Varint.Size((ulong)Version) + Varint.Size((ulong)Lease) + ValueLength;

        /// <summary>Reads the head at <paramref name="at"/>, which ends at the value; <paramref name="keyAt"/> is where the key starts.</summary>
        public static EntryHead Read(byte[] data, ref int at, out int keyAt)
        {
            var keyLength = (int)Varint.Read(data, ref at);
            keyAt = at;
            at += keyLength;
            var valueLength = (int)Varint.Read(data, ref at);
            return new EntryHead(keyLength, valueLength, (long)Varint.Read(data, ref at), (long)Varint.Read(data, ref at), (long)Varint.Read(data, ref at), (long)Varint.Read(data, ref at));
        }

        /// <summary>Writes the head and the key at <paramref name="at"/>; returns where the value goes.</summary>
        public int Write(Span<byte> entry, int at, ReadOnlySpan<byte> key)
        {
            at += Varint.Write(entry[at..], (ulong)KeyLength);
            key.CopyTo(entry[at..]);
            at += KeyLength;
            at += Varint.Write(entry[at..], (ulong)ValueLength);
            at += Varint.Write(entry[at..], (ulong)CreateRevision);
            at += Varint.Write(entry[at..], (ulong)ModRevision);
            at += Varint.Write(entry[at..], (ulong)Version);
            at += Varint.Write(entry[at..], (ulong)Lease);
            return at;
        }
    }

    /// <summary>Unsigned LEB128, seven bits a byte, as protobuf writes them.</summary>
    private static class Varint
    {
        public static int Size(ulong value) => (BitOperations.Log2(value | 1) / 7) + 1;

        public static int Write(Span<byte> span, ulong value)
        {
            var written = 0;
            while (value >= 0x80)
            {
                span[written++] = (byte)(value | 0x80);
                value >>= 7;
            }

            span[written++] = (byte)value;
            return written;
        }

        public static ulong Read(byte[] data, ref int at)
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }
    }

    internal struct Chunk
    {
        public byte[]? Data;
        public int Used;
        public int Live;
    }
}

/// <summary>
/// Every key of a key space at one moment, in key order: what a snapshot writes. It shares the
/// key space's chunks and pages, which the key space never changes once shared, so it stays as it
/// was while the key space moves on.
/// </summary>
public sealed class KeySpaceCopy
{
    internal KeySpaceCopy(KeySpace.Slot[][] slotPages, KeySpace.Chunk[] chunks, OrderedSlots.Page[] orderPages, int count) =>
        (SlotPages, Chunks, OrderPages, Count) = (slotPages, chunks, orderPages, count);

    public int Count { get; }

    internal KeySpace.Slot[][] SlotPages { get; }

    internal KeySpace.Chunk[] Chunks { get; }

    internal OrderedSlots.Page[] OrderPages { get; }

    /// <summary>Every key, in order.</summary>
    public IEnumerable<KeyView> Views()
    {
        foreach (var page in OrderPages)
        {
            for (var i = 0; i < page.Count; i++)
            {
                var slot = page.Items[i];
                yield return KeySpace.View(SlotPages[slot >> KeySpace.SlotPageBits][slot & KeySpace.SlotPageMask], Chunks);
            }
        }
    }

    /// <summary>Every key as a record, in order.</summary>
    public IEnumerable<KeyRecord> Records() => Views().Select(v => v.ToRecord());
}
