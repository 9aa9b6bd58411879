using System.Text.RegularExpressions;
using AspireKv.Node.Snapshots;
using AspireKv.Node.StateMachine;
using AspireKv.Testing;

namespace AspireKv.UnitTests;

/// <summary>
/// A snapshot survives a power cut only if its rename is durable, which takes an fsync of the
/// folder after the rename. Watched with strace (Debian's strace package), which sees the system calls
/// the save makes.
/// </summary>
public sealed partial class SnapshotDurabilityTests
{
    private const string Strace = "/usr/bin/strace";

    [Fact]
    public async Task Snapshot_save_flushes_its_folder_after_the_rename()
    {
        Assert.True(File.Exists(Strace), $"This test watches system calls with {Strace}; install it with: apt-get install -y strace");
        using var folder = new TempDirectory("aspirekv-fsync");
        var store = new SnapshotStore(folder.Path);
        var trace = Path.Combine(folder.Path, "strace.out");

        await using var strace = ManagedProcess.Start(new ProcessSpec(
            "strace", Strace, ["-f", "-qq", "-e", "trace=openat,rename,renameat,renameat2,fsync,fdatasync", "-o", trace, "-p", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
        await WaitForAsync(() => File.Exists(trace));
        await Task.Delay(500); // attached to every thread

        await Task.Run(() => store.Save(new KvStateMachine().Capture(), "fsync-test"));

        await Task.Delay(500);
        strace.Interrupt(); // detach
        await strace.Exited.WaitAsync(TimeSpan.FromSeconds(30));
        var problem = FolderFlushAfterRename(File.ReadAllLines(trace), folder.Path);
        Assert.True(problem is null, problem);
    }

    [Fact]
    public void A_flush_split_by_another_threads_call_still_counts()
    {
        // strace -f splits a call that another thread interrupts: "<unfinished ...>", then "<... fsync resumed>".
        const string Folder = "/tmp/aspirekv-fsync-x";
        string[] trace =
        [
            $"100 openat(AT_FDCWD, \"{Folder}/snapshot.akv.tmp\", O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 217",
            "100 fsync(217)                        = 0",
            $"100 rename(\"{Folder}/snapshot.akv.tmp\", \"{Folder}/snapshot.akv\") = 0",
            $"100 openat(AT_FDCWD, \"{Folder}\", O_RDONLY|O_DIRECTORY|O_CLOEXEC) = 218",
            "100 fsync(218 <unfinished ...>",
            "101 openat(AT_FDCWD, \"/proc/self/stat\", O_RDONLY) = 219",
            "100 <... fsync resumed>)              = 0",
        ];

        Assert.Null(FolderFlushAfterRename(trace, Folder));
        Assert.NotNull(FolderFlushAfterRename(trace[..^1], Folder)); // never finished: not flushed
        Assert.NotNull(FolderFlushAfterRename([.. trace[..4], "100 fsync(218) = -1 EIO (Input/output error)"], Folder));
    }

    /// <summary>Null when the trace shows the snapshot renamed into place and then its folder opened and fsynced; otherwise why not.</summary>
    private static string? FolderFlushAfterRename(IReadOnlyList<string> trace, string folder)
    {
        var calls = JoinSplitCalls(trace).Where(l => l.Contains(folder, StringComparison.Ordinal) || FsyncCall().IsMatch(l)).ToList();
        var rename = calls.FindIndex(l => l.Contains("rename", StringComparison.Ordinal) && l.Contains(SnapshotStore.FileName + "\"", StringComparison.Ordinal));
        if (rename < 0)
        {
            return "the snapshot was not renamed into place:\n" + string.Join('\n', calls);
        }

        var openFolder = calls.FindIndex(rename, l => l.Contains("openat", StringComparison.Ordinal) && l.Contains($"\"{folder}\"", StringComparison.Ordinal) && l.Contains("O_DIRECTORY", StringComparison.Ordinal));
        if (openFolder < 0)
        {
            return "the folder was not opened after the rename:\n" + string.Join('\n', calls);
        }

        var fd = Regex.Match(calls[openFolder], @"= (\d+)\s*$").Groups[1].Value;
        return calls.Skip(openFolder).Any(l => l.Contains($"fsync({fd})", StringComparison.Ordinal) && Regex.IsMatch(l, @"\)\s*= 0\s*$"))
            ? null
            : $"the folder (fd {fd}) was not fsynced after the rename:\n" + string.Join('\n', calls);
    }

    /// <summary>The trace with each call that strace split ("&lt;unfinished ...&gt;" ... "&lt;... x resumed&gt;") joined into one line, where it finished.</summary>
    private static IEnumerable<string> JoinSplitCalls(IEnumerable<string> trace)
    {
        var pending = new Dictionary<string, string>();
        foreach (var line in trace)
        {
            var match = Regex.Match(line, @"^(\d+)\s+(.*)$");
            if (!match.Success)
            {
                yield return line;
                continue;
            }

            var (pid, call) = (match.Groups[1].Value, match.Groups[2].Value);
            if (call.EndsWith("<unfinished ...>", StringComparison.Ordinal))
            {
                pending[pid] = call[..^"<unfinished ...>".Length].TrimEnd();
            }
            else if (Regex.Match(call, @"^<\.\.\. \w+ resumed>(.*)$") is { Success: true } resumed && pending.Remove(pid, out var start))
            {
                yield return $"{pid} {start}{resumed.Groups[1].Value}";
            }
            else
            {
                yield return line;
            }
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"fsync\(\d+\)")]
    private static partial Regex FsyncCall();
}
