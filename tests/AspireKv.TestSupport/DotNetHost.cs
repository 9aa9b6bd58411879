using AspireKv.Hosting;

namespace AspireKv.Testing;

/// <summary>Runs a built .dll with the <c>dotnet</c> host.</summary>
public static class DotNetHost
{
    /// <summary>A spec that runs <paramref name="assemblyPath"/> with the host, in the assembly's folder.</summary>
    public static ProcessSpec Run(string name, string assemblyPath, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?> environment) =>
        new(name, Programs.DotNet, [assemblyPath, .. arguments], System.IO.Path.GetDirectoryName(assemblyPath), environment, OwnSession: true);
}
