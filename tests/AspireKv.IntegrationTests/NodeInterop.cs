using System.Text.Json;
using AspireKv.Testing;

namespace AspireKv.IntegrationTests;

/// <summary>
/// Runs the Node.js clients in tests/interop/node (npm's @grpc/grpc-js, grpc-js-reflection-client
/// grpc-health-check and etcd3), installing them with <c>npm ci</c> the first time they are needed.
/// </summary>
public static class NodeInterop
{
    private static readonly SemaphoreSlim Installing = new(1, 1);
    private static bool _installed;

    /// <summary>The folder with package.json and the scripts, in the source tree.</summary>
    public static string Folder { get; } = FindFolder();

    /// <summary>Runs <c>node script args</c> and parses the last line it printed as JSON.</summary>
    public static async Task<JsonElement> RunAsync(string script, params string[] arguments)
    {
        await EnsureInstalledAsync();
        var (exitCode, output) = await ManagedProcess.RunToExitAsync(
            new ProcessSpec("node", "node", [Path.Combine(Folder, script), .. arguments], Folder, NoProxy),
            TimeSpan.FromMinutes(2));
        Assert.True(exitCode == 0, $"node {script} failed:\n{output}");
        return JsonDocument.Parse(output.Split('\n').Last(l => l.StartsWith('{'))).RootElement.Clone();
    }

    private static readonly Dictionary<string, string?> NoProxy = new()
    {
        ["no_proxy"] = "*",
        ["http_proxy"] = null,
        ["https_proxy"] = null,
        ["grpc_proxy"] = null,
    };

    /// <summary>The packages package.json names: installed when each has its folder.</summary>
    private static IEnumerable<string> Dependencies()
    {
        using var package = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "package.json")));
        return [.. package.RootElement.GetProperty("dependencies").EnumerateObject().Select(p => p.Name)];
    }

    private static async Task EnsureInstalledAsync()
    {
        await Installing.WaitAsync();
        try
        {
            if (_installed || Dependencies().All(d => Directory.Exists(Path.Combine(Folder, "node_modules", d))))
            {
                _installed = true;
                return;
            }

            var (exitCode, output) = await ManagedProcess.RunToExitAsync(
                new ProcessSpec("npm", "npm", ["ci", "--no-audit", "--no-fund"], Folder), TimeSpan.FromMinutes(5));
            Assert.True(exitCode == 0, $"npm ci in {Folder} failed (the npm registry must be reachable):\n{output}");
            _installed = true;
        }
        finally
        {
            Installing.Release();
        }
    }

    private static string FindFolder()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "tests", "interop", "node");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"tests/interop/node was not found above {AppContext.BaseDirectory}.");
    }
}
