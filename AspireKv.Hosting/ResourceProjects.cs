using System.Reflection;

namespace AspireKv.Hosting;

/// <summary>
/// Where the built output of a project resource is. The build records it (see
/// Directory.Build.targets) as assembly metadata <c>ResourceProject:&lt;assembly name&gt;</c>.
/// </summary>
public static class ResourceProjects
{
    public const string Node = "AspireKv.Node";
    public const string Cli = "aspirekv";

    /// <summary>The path of <paramref name="assemblyName"/>.dll, as recorded in <paramref name="recordedIn"/> (by default the entry assembly).</summary>
    public static string GetPath(string assemblyName, Assembly? recordedIn = null)
    {
        var key = "ResourceProject:" + assemblyName;
        foreach (var assembly in new[] { recordedIn, Assembly.GetEntryAssembly(), Assembly.GetCallingAssembly() })
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
