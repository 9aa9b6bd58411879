namespace AspireKv.Node.StateMachine;

/// <summary>A slot's key, as UTF-8 bytes.</summary>
internal delegate ReadOnlySpan<byte> SlotKey(int slot);

/// <summary>
/// The key space's order: slot numbers sorted by their keys' UTF-8 bytes, in pages of at most
/// <see cref="PageSize"/>. Finding a key is a binary search over the pages' first keys, then
/// within one page; an insert moves at most a page. Four bytes per key, and no object per key
/// for the collector to trace. Keys are read through <see cref="SlotKey"/>, never stored here.
/// A copy (<see cref="Share"/>) takes the pages as they are; a shared page is copied before it
/// next changes.
/// </summary>
internal sealed class OrderedSlots(SlotKey keyOf)
{
    public const int PageSize = 128;

    private readonly List<Page> _pages = [];

    /// <summary>The pages as they are now, for a copy; each is copied before it next changes here.</summary>
    public Page[] Share()
    {
        foreach (var page in _pages)
        {
            page.Shared = true;
        }

        return [.. _pages];
    }

    /// <summary>Takes <paramref name="pages"/> (from <see cref="Share"/>) as the order.</summary>
    public void Load(Page[] pages)
    {
        _pages.Clear();
        foreach (var page in pages)
        {
            page.Shared = true;
            _pages.Add(page);
        }
    }

    public int PageCount => _pages.Count;

    public int CountIn(int page) => _pages[page].Count;

    public int At(int page, int index) => _pages[page].Items[index];

    public void Insert(int slot, ReadOnlySpan<byte> key)
    {
        if (_pages.Count == 0)
        {
            _pages.Add(new Page());
        }

        var last = _pages[^1];
        int pageIndex, index;
        if (last.Count == 0 || keyOf(last.Items[last.Count - 1]).SequenceCompareTo(key) < 0)
        {
            (pageIndex, index) = (_pages.Count - 1, last.Count); // appending, as a snapshot loads
        }
        else
        {
            pageIndex = Locate(key);
            index = LowerBound(_pages[pageIndex], key);
        }

        var page = Writable(pageIndex);
        Array.Copy(page.Items, index, page.Items, index + 1, page.Count - index);
        page.Items[index] = slot;
        page.Count++;
        if (page.Count == PageSize)
        {
            var upper = new Page { Count = PageSize / 2 };
            Array.Copy(page.Items, PageSize / 2, upper.Items, 0, PageSize / 2);
            page.Count = PageSize / 2;
            _pages.Insert(pageIndex + 1, upper);
        }
    }

    public void Remove(int slot, ReadOnlySpan<byte> key)
    {
        var pageIndex = Locate(key);
        var index = LowerBound(_pages[pageIndex], key);
        if (index == _pages[pageIndex].Count || _pages[pageIndex].Items[index] != slot)
        {
            throw new InvalidOperationException("The key space's order has lost a key.");
        }

        var page = Writable(pageIndex);
        Array.Copy(page.Items, index + 1, page.Items, index, page.Count - index - 1);
        page.Count--;
        if (page.Count == 0 && _pages.Count > 1)
        {
            _pages.RemoveAt(pageIndex);
        }
        else if (pageIndex + 1 < _pages.Count && page.Count + _pages[pageIndex + 1].Count <= PageSize / 2)
        {
            var next = _pages[pageIndex + 1];
            Array.Copy(next.Items, 0, page.Items, page.Count, next.Count);
            page.Count += next.Count;
            _pages.RemoveAt(pageIndex + 1);
        }
    }

    /// <summary>The position of the first key at or after <paramref name="key"/>; (<see cref="PageCount"/>, 0) when there is none.</summary>
    public (int Page, int Index) Seek(ReadOnlySpan<byte> key)
    {
        if (_pages.Count == 0)
        {
            return (0, 0);
        }

        var pageIndex = Locate(key);
        var index = LowerBound(_pages[pageIndex], key);
        return index < _pages[pageIndex].Count ? (pageIndex, index) : (pageIndex + 1, 0);
    }

    /// <summary>The last page whose first key is at or before <paramref name="key"/>, or the first page.</summary>
    private int Locate(ReadOnlySpan<byte> key)
    {
        int low = 0, high = _pages.Count - 1;
        while (low < high)
        {
            var middle = (low + high + 1) >> 1;
            if (keyOf(_pages[middle].Items[0]).SequenceCompareTo(key) <= 0)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }

    /// <summary>The index of the first key in <paramref name="page"/> at or after <paramref name="key"/>.</summary>
    private int LowerBound(Page page, ReadOnlySpan<byte> key)
    {
        int low = 0, high = page.Count;
        while (low < high)
        {
            var middle = (low + high) >> 1;
            if (keyOf(page.Items[middle]).SequenceCompareTo(key) < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>The page at <paramref name="index"/>, copied first if a copy of the order shares it.</summary>
    private Page Writable(int index)
    {
        var page = _pages[index];
        if (page.Shared)
        {
            var own = new Page { Count = page.Count };
            Array.Copy(page.Items, own.Items, page.Count);
            _pages[index] = page = own;
        }

        return page;
    }

    internal sealed class Page
    {
        public int[] Items { get; } = new int[PageSize];

        public int Count { get; set; }

        /// <summary>A copy of the order holds this page: it must not change.</summary>
        public bool Shared { get; set; }
    }
}
