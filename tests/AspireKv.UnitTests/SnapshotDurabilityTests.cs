using System.Text.RegularExpressions;
using AspireKv.Hosting.Processes;
using AspireKv.Node.Snapshots;
using AspireKv.Node.StateMachine;

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
        var calls = File.ReadAllLines(trace).Where(l => l.Contains(folder.Path, StringComparison.Ordinal) || FsyncCall().IsMatch(l)).ToList();

        var rename = calls.FindIndex(l => l.Contains("rename", StringComparison.Ordinal) && l.Contains(SnapshotStore.FileName + "\"", StringComparison.Ordinal));
        Assert.True(rename >= 0, "the snapshot was not renamed into place:\n" + string.Join('\n', calls));
        var openFolder = calls.FindIndex(rename, l => l.Contains("openat", StringComparison.Ordinal) && l.Contains($"\"{folder.Path}\"", StringComparison.Ordinal) && l.Contains("O_DIRECTORY", StringComparison.Ordinal));
        Assert.True(openFolder > rename, "the folder was not opened after the rename:\n" + string.Join('\n', calls));
        var fd = Regex.Match(calls[openFolder], @"= (\d+)\s*$").Groups[1].Value;
        Assert.Contains(calls.Skip(openFolder), l => l.Contains($"fsync({fd})", StringComparison.Ordinal) && l.TrimEnd().EndsWith("= 0", StringComparison.Ordinal));
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
