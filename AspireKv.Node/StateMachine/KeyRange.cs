using System.Text;

namespace AspireKv.Node.StateMachine;

/// <summary>
/// A set of keys as etcd names them: one key, or every key in [<see cref="Start"/>,
/// <see cref="End"/>) in UTF-8 byte order. An empty end means no upper bound.
/// </summary>
public readonly record struct KeyRange(string Start, byte[]? End)
{
    /// <summary>Whether the range is one key.</summary>
    public bool IsSingle => End is null;

    public static KeyRange Single(string key) => new(key, null);

    /// <summary>The end as etcd says it: empty for one key, a single zero byte for no upper bound.</summary>
    public byte[] EtcdRangeEnd => End is null ? [] : End.Length == 0 ? [0] : End;

    /// <summary>Every key that starts with <paramref name="prefix"/>; every key when it is empty.</summary>
    public static KeyRange Prefix(string prefix) => new(prefix, PrefixEnd(Encoding.UTF8.GetBytes(prefix)));

    /// <summary>etcd's range: no end is one key; an end of one zero byte is every key from <paramref name="key"/> on.</summary>
    public static KeyRange FromEtcd(string key, ReadOnlySpan<byte> rangeEnd) =>
        rangeEnd.IsEmpty ? Single(key) : rangeEnd is [0] ? new KeyRange(key, []) : new KeyRange(key, rangeEnd.ToArray());

    /// <summary>The first key past every key that starts with <paramref name="prefix"/>: the prefix with its last byte below 0xFF increased.</summary>
    public static byte[] PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        for (var i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] < 0xFF)
            {
                var end = prefix[..(i + 1)].ToArray();
                end[i]++;
                return end;
            }
        }

        return []; // every byte is 0xFF (or the prefix is empty): no upper bound
    }

    /// <summary>Whether the two ranges share a key.</summary>
    public bool Overlaps(KeyRange other) => Contains(other.Start) || other.Contains(Start);

    public bool Contains(string key)
    {
        if (End is null)
        {
            return key == Start;
        }

        return Utf8KeyComparer.Instance.Compare(key, Start) >= 0 && IsBeforeEnd(key);
    }

    /// <summary>Whether <paramref name="key"/> (at or after the start) is before the end.</summary>
    public bool IsBeforeEnd(string key)
    {
        if (End is null)
        {
            return key == Start;
        }

        if (End.Length == 0)
        {
            return true;
        }

        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetMaxByteCount(key.Length) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(key, buffer)] : Encoding.UTF8.GetBytes(key);
        return bytes.SequenceCompareTo(End) < 0;
    }
}
