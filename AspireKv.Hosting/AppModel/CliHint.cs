namespace AspireKv.Hosting.AppModel;

/// <summary>A CLI command to suggest, written the way it runs on this machine: the installed tool if there is one, otherwise through dotnet run.</summary>
internal static class CliHint
{
    public static string Command(string arguments, string? path = null, string? home = null)
    {
        path ??= Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        home ??= Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (path.Split(':', StringSplitOptions.RemoveEmptyEntries).Any(folder => File.Exists(Path.Combine(folder, "aspirekv"))))
        {
            return $"aspirekv {arguments}";
        }

        var globalTool = Path.Combine(home, ".dotnet", "tools", "aspirekv");
        return File.Exists(globalTool)
            ? $"{globalTool} {arguments}"
            : $"dotnet run --project AspireKv.Cli -- {arguments}, from the repository folder; README's \"The CLI\" installs it as the aspirekv command";
    }
}
