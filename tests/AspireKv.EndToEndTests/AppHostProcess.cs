using System.Text.RegularExpressions;
using AspireKv.Client.Discovery;
using AspireKv.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>The built AppHost as a user runs it: a process in a folder of its own, which prints its dashboard's login link and says when it is ready.</summary>
public sealed partial class AppHostProcess : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    private AppHostProcess(ManagedProcess process, string folder)
    {
        Process = process;
        Folder = folder;
    }

    public ManagedProcess Process { get; }

    public string Folder { get; }

    public int Pid => Process.Pid;

    public string EndpointsPath => Path.Combine(Folder, ".aspirekv", "endpoints.json");

    public EndpointsFile Endpoints => EndpointsFile.Load(EndpointsPath);

    /// <summary>The login link the AppHost printed ("Login to the dashboard at …/login?t=…").</summary>
    public Uri? LoginUrl => Process.RecentOutput.Select(l => LoginLine().Match(l.Text)).Where(m => m.Success).Select(m => new Uri(m.Groups[1].Value)).FirstOrDefault();

    public static string AppHostPath => typeof(Projects.AspireKv_AppHost).Assembly.Location is { Length: > 0 } location
        ? location
        : Path.Combine(AppContext.BaseDirectory, "AspireKv.AppHost.dll");

    public string Output(int lines = 80) => string.Join('\n', Process.RecentOutput.TakeLast(lines).Select(l => l.Text));

    /// <summary>Starts the AppHost in <paramref name="folder"/> and waits until it says it is ready.</summary>
    public static async Task<AppHostProcess> StartAsync(string folder, params string[] arguments)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var spec = DotNetHost.Run("apphost", AppHostPath, arguments, new Dictionary<string, string?> { ["NO_COLOR"] = "1" }) with { WorkingDirectory = folder };
        var process = ManagedProcess.Start(spec, line =>
        {
            if (line.Text.Contains("AspireKv is ready", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        });
        var started = new AppHostProcess(process, folder);
        var finished = await Task.WhenAny(ready.Task, process.Exited, Task.Delay(Patience));
        if (finished != ready.Task)
        {
            var output = started.Output(60);
            await started.DisposeAsync();
            Assert.Fail($"The AppHost did not become ready:\n{output}");
        }

        return started;
    }

    /// <summary>Runs the AppHost until it exits by itself (it refuses to start), with its output.</summary>
    public static Task<(int ExitCode, string Output)> RunToExitAsync(string folder, string[] arguments, IReadOnlyDictionary<string, string?>? environment = null) =>
        ManagedProcess.RunToExitAsync(DotNetHost.Run("apphost", AppHostPath, arguments, environment ?? new Dictionary<string, string?>()) with { WorkingDirectory = folder }, Patience);

    /// <summary>
    /// Stops it as a terminal's Ctrl+C or a service manager's SIGTERM does; it must exit with 0,
    /// and within 30 s no process it started (DCP, the dashboard, the broker, epmd, the nodes) may be left.
    /// </summary>
    public async Task StopAsync(bool interrupt)
    {
        if (interrupt)
        {
            Process.Interrupt();
        }
        else
        {
            AspireKv.Hosting.Signals.Send(Process.Pid, AspireKv.Hosting.Signals.SigTerm);
        }

        var exitCode = await Process.Exited.WaitAsync(Patience);
        Assert.True(exitCode == 0, $"The AppHost exited with {exitCode}:\n{Output(40)}");
        Assert.Contains(Process.RecentOutput, l => l.Text.Contains("AspireKv stopped.", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => LeftBehind().Count == 0, TimeSpan.FromSeconds(30), () => string.Join('\n', LeftBehind().Select(p => $"{p.Pid}: {p.CommandLine}")));
    }

    /// <summary>Processes that mention the folder, or that DCP runs to watch this AppHost.</summary>
    public IReadOnlyList<(int Pid, string CommandLine)> LeftBehind() =>
        [.. ProcessTable.Mentioning(Folder), .. ProcessTable.Mentioning($"--monitor {Pid} ")];

    /// <summary>
    /// Stops the AppHost if it still runs (SIGTERM, then SIGKILL), and returns once nothing it
    /// started is left: DCP stops the broker and the nodes after the AppHost has exited, and a node
    /// writes its last snapshot as it stops, which would make the folder again once the test has
    /// removed it. What is still there after 30 s is killed, by its pid.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        for (var waited = TimeSpan.Zero; LeftBehind().Count > 0 && waited < TimeSpan.FromSeconds(30); waited += TimeSpan.FromMilliseconds(200))
        {
            await Task.Delay(200);
        }

        foreach (var (pid, _) in LeftBehind())
        {
            AspireKv.Hosting.Signals.Send(pid, AspireKv.Hosting.Signals.SigKill);
        }
    }

    [GeneratedRegex(@"Login to the dashboard at (\S+/login\?t=\S+)")]
    private static partial Regex LoginLine();
}
