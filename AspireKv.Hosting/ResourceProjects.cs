using System.Reflection;

namespace AspireKv.Hosting;

/// <summary>
/// Where a project resource's build output and project file are, as the build records them
/// (Directory.Build.targets): assembly metadata <c>ResourceProject:</c> and <c>ResourceProjectFile:</c>.
/// </summary>
public static class ResourceProjects
{
    public const string Node = "AspireKv.Node";
    public const string Cli = "aspirekv";

    /// <summary>The path of <paramref name="assemblyName"/>.dll, as recorded in <paramref name="recordedIn"/> (by default this assembly, then the entry assembly).</summary>
    public static string GetPath(string assemblyName, Assembly? recordedIn = null) => Recorded("ResourceProject:", assemblyName, recordedIn);

    /// <summary>The project file of <paramref name="assemblyName"/>, as recorded in <paramref name="recordedIn"/>.</summary>
    public static string GetProjectFile(string assemblyName, Assembly? recordedIn = null) => Recorded("ResourceProjectFile:", assemblyName, recordedIn);

    private static string Recorded(string prefix, string assemblyName, Assembly? recordedIn)
    {
        var key = prefix + assemblyName;
        foreach (var assembly in new[] { recordedIn, typeof(ResourceProjects).Assembly, Assembly.GetEntryAssembly() })
        {
            var path = assembly?.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
            if (path is not null)
            {
                return File.Exists(path)
                    ? path
                    : throw new FileNotFoundException($"{assemblyName} should be built at {path}, but it is not there. Build the solution first.", path);
            }
        }

        throw new InvalidOperationException($"No build output is recorded for {assemblyName}. Add <ResourceProject Include=\"...{assemblyName}.csproj\" /> to the project that starts it.");
    }
}
