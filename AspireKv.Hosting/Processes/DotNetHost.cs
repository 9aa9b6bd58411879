namespace AspireKv.Hosting.Processes;

/// <summary>The <c>dotnet</c> host that runs a built .dll.</summary>
public static class DotNetHost
{
    /// <summary>The host's path: <c>DOTNET_HOST_PATH</c> (set by the SDK), the current host, or <c>dotnet</c> on PATH.</summary>
    public static string Path { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath) ? hostPath
        : Environment.ProcessPath is { } current && System.IO.Path.GetFileNameWithoutExtension(current) == "dotnet" ? current
        : "dotnet";

    /// <summary>A spec that runs <paramref name="assemblyPath"/> with the host, in the assembly's folder.</summary>
    public static ProcessSpec Run(string name, string assemblyPath, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?> environment) =>
        new(name, Path, [assemblyPath, .. arguments], System.IO.Path.GetDirectoryName(assemblyPath), environment, OwnSession: true);
}
