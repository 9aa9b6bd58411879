using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace AspireKv.RobustnessTests;

/// <summary>
/// Checks a history for linearizability, one key at a time (linearizability is compositional), by
/// the Wing–Gong search with Lowe's memoization, as Porcupine does it. The model of one key is a
/// register with etcd's counters: whether it exists, its value and its mod_revision, plus the
/// revision of its last change, since a key's changes get increasing revisions in log order.
/// A transaction is checked as its parts on each key, which carry its one revision; a lease's
/// revocation as a delete of each key whose current value was written with the lease.
/// Operations whose outcome is unknown may take effect at any point after their call, or never;
/// operations that certainly failed are left out.
/// </summary>
public static class LinearizabilityChecker
{
    /// <summary>How many search steps one key may take before the checker gives up (and says so).</summary>
    private const long MaxSteps = 50_000_000;

    public static CheckResult Check(IEnumerable<Operation> history)
    {
        var problems = new List<string>();
        foreach (var key in history.Where(o => o.Outcome != Outcome.Failed).GroupBy(o => o.Key).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            if (CheckKey([.. key]) is { } problem)
            {
                problems.Add(problem);
            }
        }

        return new CheckResult(problems);
    }

    private static string? CheckKey(List<Operation> operations)
    {
        var revisions = ObservedRevisions(operations);
        var entries = BuildEntries(operations);
        var head = entries;
        var linearized = new bool[operations.Count];
        var linearizedCount = 0;
        var cache = new HashSet<CacheKey>();
        var stack = new Stack<(Entry Call, ImmutableHashSet<KeyState> States)>();
        var states = ImmutableHashSet.Create(KeyState.Absent);
        var deepest = (Count: 0, Blocked: (Operation?)null, States: states);
        long steps = 0;

        var returns = operations.Count(o => o.Outcome == Outcome.Ok);
        var entry = head.Next;
        while (true)
        {
            if (returns == 0)
            {
                return null; // every completed operation found its place
            }

            if (++steps > MaxSteps)
            {
                return $"key {operations[0].Key}: the search gave up after {MaxSteps} steps ({operations.Count} operations); the history is too concurrent to check.";
            }

            if (entry is { IsCall: true })
            {
                var next = Step(states, entry.Operation, revisions);
                linearized[entry.Local] = true;
                if (!next.IsEmpty && cache.Add(new CacheKey(linearized, next)))
                {
                    stack.Push((entry, states));
                    states = next;
                    linearizedCount++;
                    returns -= entry.Match is null ? 0 : 1;
                    entry.Lift();
                    entry = head.Next;
                    continue;
                }

                linearized[entry.Local] = false;
                entry = entry.Next;
                continue;
            }

            // A return whose call has not been placed: undo the last choice and try the next one.
            if (linearizedCount >= deepest.Count)
            {
                deepest = (linearizedCount, entry?.Operation, states);
            }

            if (stack.Count == 0)
            {
                return Explain(operations, deepest.Blocked, deepest.States);
            }

            var (call, previous) = stack.Pop();
            call.Unlift();
            returns += call.Match is null ? 0 : 1;
            linearized[call.Local] = false;
            linearizedCount--;
            states = previous;
            entry = call.Next;
        }
    }

    /// <summary>The revision each written value was seen with; a value is unique to its write.</summary>
    private static Dictionary<string, long> ObservedRevisions(List<Operation> operations)
    {
        var revisions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var write in operations.Where(o => o.IsWrite && o.Outcome == Outcome.Ok && o.Value is not null && o.Revision > 0))
        {
            revisions[write.Value!] = write.Revision;
        }

        foreach (var read in operations.Where(o => o.Kind == OperationKind.Get && o.Found))
        {
            revisions.TryAdd(read.ReadValue!, read.ModRevision);
        }

        return revisions;
    }

    /// <summary>What one operation can do to each state the key may be in; empty when it can do nothing consistent.</summary>
    private static ImmutableHashSet<KeyState> Step(ImmutableHashSet<KeyState> states, Operation op, Dictionary<string, long> revisions)
    {
        var next = ImmutableHashSet.CreateBuilder<KeyState>();
        foreach (var state in states)
        {
            foreach (var successor in Successors(state, op, revisions))
            {
                next.Add(successor);
            }
        }

        return next.ToImmutable();
    }

    private static IEnumerable<KeyState> Successors(KeyState state, Operation op, Dictionary<string, long> revisions)
    {
        var unknown = op.Outcome == Outcome.Unknown;
        if (unknown)
        {
            yield return state; // it may not have taken effect
        }

        switch (op.Kind)
        {
            case OperationKind.Get:
                if (state.Exists == op.Found && (!op.Found || (state.Value == op.ReadValue && (state.ModRevision < 0 || state.ModRevision == op.ModRevision))))
                {
                    yield return state;
                }

                break;

            case OperationKind.Put:
                {
                    var revision = unknown ? revisions.GetValueOrDefault(op.Value!, -1) : op.Revision;
                    if (state.After(revision))
                    {
                        yield return KeyState.Written(op.Value!, revision);
                    }

                    break;
                }

            case OperationKind.CompareAndSet:
                {
                    var matches = op.ExpectedModRevision == 0 ? !state.Exists : state.Exists && (state.ModRevision < 0 || state.ModRevision == op.ExpectedModRevision);
                    var mismatches = op.ExpectedModRevision == 0 ? state.Exists : !state.Exists || state.ModRevision != op.ExpectedModRevision;
                    if (unknown || op.Matched)
                    {
                        var revision = unknown ? revisions.GetValueOrDefault(op.Value!, -1) : op.Revision;
                        if (matches && state.After(revision))
                        {
                            yield return KeyState.Written(op.Value!, revision);
                        }
                    }
                    else if (mismatches && (state.ModRevision < 0 || op.ModRevision == (state.Exists ? state.ModRevision : 0)))
                    {
                        yield return state;
                    }

                    break;
                }

            case OperationKind.Delete:
                if (unknown)
                {
                    if (state.Exists)
                    {
                        yield return KeyState.Deleted(-1);
                    }
                }
                else if (op.Deleted > 0 ? state.Exists && state.After(op.Revision) : !state.Exists)
                {
                    yield return op.Deleted > 0 ? KeyState.Deleted(op.Revision) : state;
                }

                break;

            case OperationKind.Revoke:
                {
                    // Only a key whose value was written with the lease is attached to it.
                    var attached = state.Exists && op.LeaseValues!.Contains(state.Value!);
                    if (!attached)
                    {
                        if (!unknown)
                        {
                            yield return state;
                        }
                    }
                    else if (unknown)
                    {
                        yield return KeyState.Deleted(-1);
                    }
                    else if (op.Deleted > 0 && state.After(op.Revision))
                    {
                        yield return KeyState.Deleted(op.Revision);
                    }

                    break;
                }
        }
    }

    private static Entry BuildEntries(List<Operation> operations)
    {
        // Calls before returns at the same instant: concurrent, not ordered.
        var events = new List<(long Time, bool IsCall, int Local)>();
        for (var i = 0; i < operations.Count; i++)
        {
            events.Add((operations[i].Invoked, true, i));
            if (operations[i].Outcome == Outcome.Ok)
            {
                events.Add((operations[i].Returned, false, i));
            }
        }

        events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : b.IsCall.CompareTo(a.IsCall));
        var head = new Entry(null!, -1, false);
        var calls = new Dictionary<int, Entry>();
        var last = head;
        foreach (var (_, isCall, local) in events)
        {
            var entry = new Entry(operations[local], local, isCall);
            if (isCall)
            {
                calls[local] = entry;
            }
            else
            {
                calls[local].Match = entry;
            }

            last.Next = entry;
            entry.Previous = last;
            last = entry;
        }

        return head;
    }

    private static string Explain(List<Operation> operations, Operation? blocked, ImmutableHashSet<KeyState> states)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"key {operations[0].Key} is not linearizable: no order of its {operations.Count} operations fits a register. ");
        if (blocked is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"The search got furthest with the key in {string.Join(" or ", states)}, where {blocked} could not be placed. ");
        }

        text.Append("Its operations:\n");
        foreach (var op in operations.OrderBy(o => o.Invoked).Take(400))
        {
            var returned = op.Outcome == Outcome.Ok ? op.Returned.ToString(CultureInfo.InvariantCulture) : "?";
            text.Append(CultureInfo.InvariantCulture, $"  [{op.Invoked}..{returned}] {op}\n");
        }

        return text.ToString();
    }

    /// <summary>One call or return in the time-ordered list the search walks; a placed operation is lifted out.</summary>
    private sealed class Entry(Operation operation, int local, bool isCall)
    {
        public Operation Operation { get; } = operation;

        public int Local { get; } = local;

        public bool IsCall { get; } = isCall;

        public Entry? Match { get; set; }

        public Entry? Previous { get; set; }

        public Entry? Next { get; set; }

        public void Lift()
        {
            Remove(this);
            if (Match is not null)
            {
                Remove(Match);
            }
        }

        public void Unlift()
        {
            if (Match is not null)
            {
                Restore(Match);
            }

            Restore(this);
        }

        private static void Remove(Entry entry)
        {
            entry.Previous!.Next = entry.Next;
            if (entry.Next is not null)
            {
                entry.Next.Previous = entry.Previous;
            }
        }

        private static void Restore(Entry entry)
        {
            entry.Previous!.Next = entry;
            if (entry.Next is not null)
            {
                entry.Next.Previous = entry;
            }
        }
    }

    /// <summary>The placed operations and the states the key may be in: a point the search has been at.</summary>
    private sealed class CacheKey : IEquatable<CacheKey>
    {
        private readonly ulong[] _placed;
        private readonly ImmutableHashSet<KeyState> _states;
        private readonly int _hash;

        public CacheKey(bool[] placed, ImmutableHashSet<KeyState> states)
        {
            _placed = new ulong[(placed.Length + 63) / 64];
            for (var i = 0; i < placed.Length; i++)
            {
                if (placed[i])
                {
                    _placed[i / 64] |= 1UL << (i % 64);
                }
            }

            _states = states;
            var hash = new HashCode();
            foreach (var word in _placed)
            {
                hash.Add(word);
            }

            var statesHash = 0;
            foreach (var state in states)
            {
                statesHash ^= state.GetHashCode();
            }

            hash.Add(statesHash);
            _hash = hash.ToHashCode();
        }

        public bool Equals(CacheKey? other) => other is not null && _hash == other._hash && _placed.AsSpan().SequenceEqual(other._placed) && _states.SetEquals(other._states);

        public override bool Equals(object? obj) => Equals(obj as CacheKey);

        public override int GetHashCode() => _hash;
    }
}

/// <summary>
/// One key's state in the model. <see cref="ModRevision"/> and <see cref="LastChange"/> are -1
/// when the write that set them had an unknown outcome and no read saw it.
/// </summary>
public sealed record KeyState(bool Exists, string? Value, long ModRevision, long LastChange)
{
    public static KeyState Absent { get; } = new(false, null, 0, 0);

    public static KeyState Written(string value, long revision) => new(true, value, revision, revision);

    public static KeyState Deleted(long revision) => new(false, null, 0, revision);

    /// <summary>Whether a change at <paramref name="revision"/> can follow this state: a key's changes get increasing revisions.</summary>
    public bool After(long revision) => revision < 0 || LastChange < 0 || revision > LastChange;

    public override string ToString() => Exists ? $"{Value}@{(ModRevision < 0 ? "?" : ModRevision)}" : "absent";
}

/// <summary>What the checker found: nothing, or why each key that is not linearizable is not.</summary>
public sealed record CheckResult(IReadOnlyList<string> Problems)
{
    public bool IsLinearizable => Problems.Count == 0;

    public override string ToString() => IsLinearizable ? "linearizable" : string.Join("\n\n", Problems);
}
