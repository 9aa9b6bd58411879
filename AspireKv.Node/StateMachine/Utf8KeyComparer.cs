namespace AspireKv.Node.StateMachine;

/// <summary>
/// Orders keys by their UTF-8 bytes, as etcd does. That is code-point order, which differs from
/// .NET's ordinal (UTF-16) order only where surrogate pairs meet characters U+E000 to U+FFFF.
/// </summary>
public sealed class Utf8KeyComparer : IComparer<string>
{
    public static Utf8KeyComparer Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        var common = x.AsSpan().CommonPrefixLength(y);
        if (common == x.Length || common == y.Length)
        {
            return x.Length - y.Length;
        }

        return CodePointOrder(x[common]) - CodePointOrder(y[common]);
    }

    // Surrogates (U+D800–U+DFFF) stand for code points above U+FFFF, so they must sort after
    // U+E000–U+FFFF: shift the two ranges past each other.
    private static int CodePointOrder(char c) => c < 0xD800 ? c : c >= 0xE000 ? c - 0x800 : c + 0x2000;
}
