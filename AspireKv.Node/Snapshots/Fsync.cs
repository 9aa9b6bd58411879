using System.Runtime.InteropServices;

namespace AspireKv.Node.Snapshots;

/// <summary>fsync(2) of a folder, which .NET has no API for: it makes a rename in that folder durable.</summary>
internal static partial class Fsync
{
    private const int ReadOnly = 0;      // O_RDONLY
    private const int OpenDirectory = 0x10000; // O_DIRECTORY on Linux

    public static void Directory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // nodes run on Linux; elsewhere the rename is as durable as the platform makes it
        }

        var fd = open(path, ReadOnly | OpenDirectory);
        if (fd < 0)
        {
            throw new IOException($"Could not open {path} to flush it to disk (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (fsync(fd) != 0)
            {
                throw new IOException($"Could not flush {path} to disk (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
