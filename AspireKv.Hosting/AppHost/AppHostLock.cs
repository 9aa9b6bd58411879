using System.Globalization;

namespace AspireKv.Hosting.AppHost;

/// <summary>
/// One AppHost per folder: an exclusive lock on <c>apphost.lock</c>, gone with its process, and the
/// holder's pid in <c>apphost.pid</c> (a locked file cannot be read by anyone else).
/// </summary>
internal sealed class AppHostLock : IDisposable
{
    private const string LockName = "apphost.lock";
    private const string PidName = "apphost.pid";
    private readonly FileStream _lock;
    private readonly string _pidPath;

    private AppHostLock(FileStream held, string pidPath)
    {
        _lock = held;
        _pidPath = pidPath;
    }

    /// <summary>Takes <paramref name="folder"/>'s lock, or throws with who holds it and what to do.</summary>
    public static AppHostLock Acquire(string folder, string endpointsFile)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, LockName);
        try
        {
            var held = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            var pidPath = Path.Combine(folder, PidName);
            File.WriteAllText(pidPath, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            return new AppHostLock(held, pidPath);
        }
        catch (IOException)
        {
            throw new AppHostCannotStartException(Describe(folder, endpointsFile));
        }
    }

    /// <summary>Deletes what <paramref name="folder"/> holds (for --reset), except the lock this AppHost holds.</summary>
    public static void EmptyExceptLock(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return;
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
        {
            var name = Path.GetFileName(entry);
            if (name is LockName or PidName)
            {
                continue;
            }

            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
    }

    public void Dispose()
    {
        // The pid goes first, while the lock still says nobody else may write it.
        try
        {
            File.Delete(_pidPath);
        }
        catch (IOException)
        {
        }

        _lock.Dispose();
    }

    private static string Describe(string folder, string endpointsFile)
    {
        var pid = TryRead(Path.Combine(folder, PidName)) is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var owner) ? owner : (int?)null;
        var who = pid is { } p ? $"An AppHost (pid {p}) is already running in this folder ({folder})." : $"An AppHost is already running in this folder ({folder}).";
        var stop = pid is { } q ? $"stop it with Ctrl+C in its terminal, or: kill {q}" : "stop it with Ctrl+C in its terminal";
        return $"{who} Reach it with the aspirekv CLI from this folder (its endpoints, and its dashboard's, are in {endpointsFile}); {stop}. To run another one as well, start it from another folder.";
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
