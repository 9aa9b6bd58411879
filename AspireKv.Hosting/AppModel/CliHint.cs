using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.AppModel;

/// <summary>A CLI command to suggest, written the way it runs on this machine: the installed tool if there is one, otherwise through dotnet run.</summary>
internal static class CliHint
{
    public static string Command(string arguments)
    {
        if (ProgramPath.IsOnPath("aspirekv"))
        {
            return $"aspirekv {arguments}";
        }

        var globalTool = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "aspirekv");
        return File.Exists(globalTool)
            ? $"{globalTool} {arguments}"
            : $"dotnet run --project AspireKv.Cli -- {arguments}, from the repository folder; README's \"The CLI\" installs it as the aspirekv command";
    }
}
