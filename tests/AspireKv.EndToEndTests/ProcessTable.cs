using System.Text;

namespace AspireKv.EndToEndTests;

/// <summary>Finds live processes by what their command line or environment mentions, from /proc.</summary>
public static class ProcessTable
{
    /// <summary>Live (not zombie) processes whose command line, environment or working folder mentions <paramref name="text"/>.</summary>
    public static IReadOnlyList<(int Pid, string CommandLine)> Mentioning(string text)
    {
        var found = new List<(int, string)>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var commandLine = Read(Path.Combine(folder, "cmdline"));
                var environment = Read(Path.Combine(folder, "environ"));
                var workingDirectory = new DirectoryInfo(Path.Combine(folder, "cwd")).LinkTarget ?? string.Empty;
                var mentions = commandLine.Contains(text, StringComparison.Ordinal)
                    || environment.Contains(text, StringComparison.Ordinal)
                    || workingDirectory.Contains(text, StringComparison.Ordinal);
                if (mentions && IsAlive(folder))
                {
                    found.Add((pid, commandLine));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }

    /// <summary>Whether process <paramref name="pid"/> still runs (a zombie does not).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            return IsAlive($"/proc/{pid}");
        }
        catch (IOException)
        {
            return false; // no such process
        }
    }

    /// <summary>The environment process <paramref name="pid"/> runs with, from /proc: what started it gave it.</summary>
    public static IReadOnlyDictionary<string, string> EnvironmentOf(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(v => v.Split('=', 2)).Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1]);

    private static string Read(string path) => Encoding.UTF8.GetString(File.ReadAllBytes(path)).Replace('\0', ' ');

    private static bool IsAlive(string folder)
    {
        var stat = File.ReadAllText(Path.Combine(folder, "stat"));
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0] is not ("Z" or "X");
    }
}
