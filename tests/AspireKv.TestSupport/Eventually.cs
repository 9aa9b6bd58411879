namespace AspireKv.Testing;

/// <summary>Polls a condition until it holds, for the tests that wait on real processes.</summary>
public static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    /// <summary>Waits until <paramref name="condition"/> is true; fails after <paramref name="timeout"/> with what <paramref name="describe"/> says.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The condition did not hold within {timeout.TotalSeconds:F0} s.{(describe is null ? string.Empty : "\n" + describe())}");
            }

            await Task.Delay(Interval);
        }
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, Func<string>? describe = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, describe);

    /// <summary>Runs <paramref name="attempt"/> until it returns without throwing <typeparamref name="TException"/>; returns what it returned.</summary>
    public static async Task<T> SucceedsAsync<T, TException>(Func<Task<T>> attempt, TimeSpan timeout, Func<string>? describe = null)
        where TException : Exception
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return await attempt();
            }
            catch (TException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(Interval);
            }
            catch (TException ex)
            {
                throw new TimeoutException($"It did not succeed within {timeout.TotalSeconds:F0} s; the last failure was: {ex.Message}{(describe is null ? string.Empty : "\n" + describe())}", ex);
            }
        }
    }

    /// <summary>Reads <paramref name="read"/> until what it returns satisfies <paramref name="condition"/>; returns that value.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> condition, TimeSpan timeout, Func<T, string>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The value read did not satisfy the condition within {timeout.TotalSeconds:F0} s.{(describe is null ? string.Empty : "\n" + describe(value))}");
            }

            await Task.Delay(Interval);
        }
    }
}
