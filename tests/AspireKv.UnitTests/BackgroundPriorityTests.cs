using AspireKv.Node.Snapshots;

namespace AspireKv.UnitTests;

/// <summary>The snapshot thread's lower CPU priority: that thread's nice value, not the process's.</summary>
public sealed class BackgroundPriorityTests
{
    [Fact]
    public void Lowering_a_thread_sets_its_nice_value_and_leaves_the_others_alone()
    {
        Assert.True(OperatingSystem.IsLinux(), "nodes run on Linux, where nice values are per thread");
        var before = NiceOf("/proc/thread-self/stat");
        var (lowered, nice) = (false, -1);
        var thread = new Thread(() =>
        {
            lowered = BackgroundPriority.LowerCurrentThread();
            nice = NiceOf("/proc/thread-self/stat");
        });
        thread.Start();
        thread.Join();

        Assert.True(lowered);
        Assert.Equal(BackgroundPriority.Nice, nice);
        Assert.Equal(before, NiceOf("/proc/thread-self/stat"));
    }

    /// <summary>The calling thread's nice value.</summary>
    internal static int NiceOfThisThread() => NiceOf("/proc/thread-self/stat");

    /// <summary>Field 19 of /proc/…/stat, counted after the command name in parentheses.</summary>
    private static int NiceOf(string statPath)
    {
        var stat = File.ReadAllText(statPath);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[16], System.Globalization.CultureInfo.InvariantCulture);
    }
}
