using AspireKv.Client.Discovery;
using AspireKv.Hosting;
using AspireKv.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>Runs the built <c>aspirekv</c> CLI as a process against the test topology, which it finds through its endpoints file.</summary>
public static class AspireKvCli
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    /// <summary>Starts the CLI, for commands that run until they are interrupted (watch, the REPL); the caller disposes of it.</summary>
    public static ManagedProcess Start(TopologyFixture fixture, params string[] arguments) => Start(fixture.App.EndpointsFile, arguments);

    /// <summary>Starts the CLI against the AppHost whose endpoints file is <paramref name="endpointsFile"/>.</summary>
    public static ManagedProcess Start(string endpointsFile, params string[] arguments)
    {
        var environment = new Dictionary<string, string?> { [EndpointsFile.EnvironmentVariable] = endpointsFile };
        return ManagedProcess.Start(DotNetHost.Run("aspirekv", ResourceProjects.GetPath(ResourceProjects.Cli, typeof(AspireKvCli).Assembly), arguments, environment));
    }

    /// <summary>Standard output and standard error of a CLI process so far.</summary>
    public static (string Output, string Error) OutputOf(ManagedProcess cli)
    {
        var output = cli.RecentOutput;
        return (string.Join('\n', output.Where(l => !l.IsError).Select(l => l.Text)), string.Join('\n', output.Where(l => l.IsError).Select(l => l.Text)));
    }

    public static Task<(int ExitCode, string Output, string Error)> RunAsync(TopologyFixture fixture, string? stdin, params string[] arguments) =>
        RunAsync(Start(fixture, arguments), stdin);

    public static Task<(int ExitCode, string Output, string Error)> RunAsync(string endpointsFile, string? stdin, params string[] arguments) =>
        RunAsync(Start(endpointsFile, arguments), stdin);

    /// <summary>Runs the CLI in <paramref name="folder"/> with no AppHost to find: no endpoints file there or above, and no ASPIREKV_ENDPOINTS.</summary>
    public static Task<(int ExitCode, string Output, string Error)> RunWithoutAppHostAsync(string folder, string? stdin, params string[] arguments)
    {
        var environment = new Dictionary<string, string?> { [EndpointsFile.EnvironmentVariable] = null };
        var spec = DotNetHost.Run("aspirekv", ResourceProjects.GetPath(ResourceProjects.Cli, typeof(AspireKvCli).Assembly), arguments, environment) with { WorkingDirectory = folder };
        return RunAsync(ManagedProcess.Start(spec), stdin);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(ManagedProcess started, string? stdin)
    {
        await using var cli = started;
        if (stdin is not null)
        {
            await cli.WriteToStandardInputAsync(stdin);
        }

        await cli.CloseStandardInputAsync();
        var exitCode = await cli.Exited.WaitAsync(Patience);
        await Task.Delay(100); // the last lines of output arrive after the exit
        var (output, error) = OutputOf(cli);
        return (exitCode, output, error);
    }
}
