using System.Collections;

namespace AspireKv.Grpc;

/// <summary>
/// Custom metadata: the headers or trailers of a call. Keys are lower-case; a key that ends in
/// <c>-bin</c> carries bytes, which travel base64-encoded.
/// </summary>
public sealed class Metadata : IEnumerable<Metadata.Entry>
{
    public const string BinarySuffix = "-bin";

    private readonly List<Entry> _entries = [];

    public int Count => _entries.Count;

    public void Add(string key, string value)
    {
        key = ValidateKey(key);
        if (IsBinaryKey(key))
        {
            throw new ArgumentException($"Metadata key '{key}' ends in '{BinarySuffix}', so its value must be bytes, not a string.", nameof(key));
        }

        ArgumentNullException.ThrowIfNull(value);
        foreach (var c in value)
        {
            if (c < 0x20 || c > 0x7E)
            {
                throw new ArgumentException($"Metadata value for '{key}' may hold only printable ASCII (0x20 to 0x7E); use a '{BinarySuffix}' key for other data.", nameof(value));
            }
        }

        _entries.Add(new Entry(key, value, null));
    }

    public void Add(string key, byte[] value)
    {
        key = ValidateKey(key);
        if (!IsBinaryKey(key))
        {
            throw new ArgumentException($"Metadata key '{key}' carries bytes, so it must end in '{BinarySuffix}'.", nameof(key));
        }

        ArgumentNullException.ThrowIfNull(value);
        _entries.Add(new Entry(key, null, value));
    }

    /// <summary>The last string value under <paramref name="key"/>, or null.</summary>
    public string? GetValue(string key)
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.OrdinalIgnoreCase) && _entries[i].Value is { } value)
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>The last binary value under <paramref name="key"/>, or null.</summary>
    public byte[]? GetValueBytes(string key)
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.OrdinalIgnoreCase) && _entries[i].ValueBytes is { } value)
            {
                return value;
            }
        }

        return null;
    }

    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public static bool IsBinaryKey(string key) => key.EndsWith(BinarySuffix, StringComparison.OrdinalIgnoreCase);

    internal void AddEntry(Entry entry) => _entries.Add(entry);

    /// <summary>Adds an entry received on the wire, decoding base64 for binary keys; bad entries are dropped.</summary>
    internal void AddFromWire(string key, string value)
    {
        key = key.ToLowerInvariant();
        if (IsBinaryKey(key))
        {
            if (TryDecodeBase64(value, out var bytes))
            {
                _entries.Add(new Entry(key, null, bytes));
            }
        }
        else
        {
            _entries.Add(new Entry(key, value, null));
        }
    }

    /// <summary>The value as it travels in a header: base64 for binary entries.</summary>
    internal static string ToWireValue(Entry entry) =>
        entry.ValueBytes is { } bytes ? Convert.ToBase64String(bytes) : entry.Value!;

    private static string ValidateKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var lower = key.ToLowerInvariant();
        foreach (var c in lower)
        {
            var ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.';
            if (!ok)
            {
                throw new ArgumentException($"Metadata key '{key}' has the character '{c}'; keys may hold only a-z, 0-9, '-', '_' and '.'.", nameof(key));
            }
        }

        if (lower.StartsWith("grpc-", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Metadata key '{key}' is reserved: keys that start with 'grpc-' belong to the protocol.", nameof(key));
        }

        return lower;
    }

    private static bool TryDecodeBase64(string value, out byte[] bytes)
    {
        // The protocol allows unpadded base64; pad before decoding.
        var padded = (value.Length % 4) switch
        {
            2 => value + "==",
            3 => value + "=",
            _ => value,
        };
        try
        {
            bytes = Convert.FromBase64String(padded);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }

    /// <summary>One metadata entry: a string value, or bytes for a <c>-bin</c> key.</summary>
    public sealed record Entry(string Key, string? Value, byte[]? ValueBytes)
    {
        public bool IsBinary => ValueBytes is not null;
    }
}
