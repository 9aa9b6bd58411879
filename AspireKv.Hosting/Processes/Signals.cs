using System.Runtime.InteropServices;

namespace AspireKv.Hosting.Processes;

/// <summary>Sends POSIX signals to processes this program started.</summary>
internal static partial class Signals
{
    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigInt = 2;
    public const int SigStop = 19;
    public const int SigCont = 18;

    public static bool Send(int pid, int signal) => OperatingSystem.IsWindows() ? false : kill(pid, signal) == 0;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
