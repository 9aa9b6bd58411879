using System.Runtime.InteropServices;

namespace AspireKv.Node.Snapshots;

/// <summary>
/// Lowers the calling thread's CPU priority (its nice value, setpriority(2) on the thread's id),
/// which .NET's <see cref="Thread.Priority"/> does not do on Linux. A snapshot takes about a
/// second of a core with a million keys; at nice 10 it gives way to the threads that serve calls
/// and apply the log, on cores it shares with the other nodes and the broker.
/// </summary>
internal static partial class BackgroundPriority
{
    public const int Nice = 10;
    private const int PriorityOfProcess = 0; // PRIO_PROCESS: with a thread id, that thread alone

    /// <summary>Lowers the calling thread's priority for good; call it only on a thread of its own. False where it cannot.</summary>
    public static bool LowerCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        return setpriority(PriorityOfProcess, gettid(), Nice) == 0;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, int who, int priority);

    [LibraryImport("libc")]
    private static partial int gettid();
}
