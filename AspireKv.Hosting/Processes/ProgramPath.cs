namespace AspireKv.Hosting.Processes;

/// <summary>Where the shell would find a program.</summary>
public static class ProgramPath
{
    /// <summary>Whether a folder on <c>PATH</c> holds <paramref name="program"/>.</summary>
    public static bool IsOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(folder => File.Exists(Path.Combine(folder, program)));
}
