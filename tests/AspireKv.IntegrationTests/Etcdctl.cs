using AspireKv.Testing;

namespace AspireKv.IntegrationTests;

/// <summary>Debian's etcdctl (etcd-client) as a separate process against one of <paramref name="cluster"/>'s nodes, with its output (stdout and stderr) as one text.</summary>
public sealed class Etcdctl(ClusterFixture cluster)
{
    public const string Path = "/usr/bin/etcdctl";

    public ManagedProcess Start(string node, params string[] arguments)
    {
        Assert.True(File.Exists(Path), $"This test drives Debian's etcdctl at {Path}; install it with: apt-get install -y etcd-client");
        return ManagedProcess.Start(new ProcessSpec($"etcdctl-{node}", Path, ["--endpoints", $"127.0.0.1:{cluster.Nodes[node].Spec.GrpcPort}", "--command-timeout", "15s", .. arguments])
        {
            Environment = new Dictionary<string, string?> { ["ETCDCTL_API"] = "3" },
        });
    }

    public static string Output(ManagedProcess process) => string.Join('\n', process.RecentOutput.Select(l => l.Text));

    /// <summary>Runs etcdctl to its end and asserts that it succeeded; returns its output.</summary>
    public Task<string> OkAsync(string node, params string[] arguments) => OkWithInputAsync(node, null, arguments);

    public async Task<string> OkWithInputAsync(string node, string? stdin, params string[] arguments)
    {
        var (exitCode, output) = await RunAsync(node, stdin, arguments);
        Assert.True(exitCode == 0, $"etcdctl {string.Join(' ', arguments)} exited {exitCode}: {output}");
        return output;
    }

    /// <summary>Runs etcdctl to its end and asserts that it failed; returns its output.</summary>
    public async Task<string> FailsAsync(string node, params string[] arguments)
    {
        var (exitCode, output) = await RunAsync(node, null, arguments);
        Assert.True(exitCode != 0, $"etcdctl {string.Join(' ', arguments)} succeeded: {output}");
        return output;
    }

    public async Task<(int ExitCode, string Output)> RunAsync(string node, string? stdin, params string[] arguments)
    {
        await using var process = Start(node, arguments);
        if (stdin is not null)
        {
            await process.WriteToStandardInputAsync(stdin);
        }

        await process.CloseStandardInputAsync();
        var exitCode = await process.Exited.WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(100); // the last lines arrive after the exit
        return (exitCode, Output(process));
    }
}
