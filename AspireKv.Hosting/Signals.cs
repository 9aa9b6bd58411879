using System.Runtime.InteropServices;

namespace AspireKv.Hosting;

/// <summary>POSIX signals to processes by pid, and what /proc says about them.</summary>
public static partial class Signals
{
    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigInt = 2;
    public const int SigStop = 19;
    public const int SigCont = 18;

    public static bool Send(int pid, int signal) => !OperatingSystem.IsWindows() && kill(pid, signal) == 0;

    /// <summary>True while process <paramref name="pid"/> exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0] is not ("Z" or "X");
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Waits, up to <paramref name="timeout"/>, until process <paramref name="pid"/> (if any) is gone.</summary>
    public static async Task WaitUntilGoneAsync(int? pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (pid is { } live && IsAlive(live) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
