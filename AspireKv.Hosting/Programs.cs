using System.Diagnostics;

namespace AspireKv.Hosting;

/// <summary>Programs on this machine: where the shell would find one, and whether a short command succeeds.</summary>
public static class Programs
{
    /// <summary>
    /// The <c>dotnet</c> host that runs built .dll files: <c>DOTNET_HOST_PATH</c> (set by the SDK),
    /// this process when it is that host, or <c>dotnet</c> on PATH.
    /// </summary>
    public static string DotNet { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath) ? hostPath
        : Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current
        : Find("dotnet") ?? "dotnet";

    /// <summary>The first <paramref name="program"/> on <c>PATH</c>; null when there is none.</summary>
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, program))
            .FirstOrDefault(File.Exists);

    /// <summary>Whether a folder on <c>PATH</c> holds <paramref name="program"/>.</summary>
    public static bool IsOnPath(string program) => Find(program) is not null;

    /// <summary>Whether <paramref name="program"/> exits with 0 within <paramref name="timeout"/> (output discarded; killed if it runs longer).</summary>
    public static bool Succeeds(string program, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        try
        {
            using var process = Process.Start(info)!;
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (process.WaitForExit(timeout))
            {
                return process.ExitCode == 0;
            }

            process.Kill(entireProcessTree: true);
            return false;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
