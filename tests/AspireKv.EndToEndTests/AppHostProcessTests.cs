using System.Net;
using AspireKv.Client;
using AspireKv.Client.Discovery;
using AspireKv.Hosting.Processes;

namespace AspireKv.EndToEndTests;

/// <summary>The AppHost as a user runs it: a process started in a folder, stopped with Ctrl+C (SIGINT), started again.</summary>
public sealed class AppHostProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task AppHost_starts_stops_on_sigint_and_starts_again_leaving_nothing_behind()
    {
        using var folder = new TempDirectory("aspirekv-apphost-run");
        var endpointsPath = Path.Combine(folder.Path, ".aspirekv", "endpoints.json");

        // First run: write a value.
        await using (var first = await StartAppHostAsync(folder.Path))
        {
            var endpoints = EndpointsFile.Load(endpointsPath);
            Assert.Equal(first.Pid, endpoints.AppHostPid);
            Assert.Equal(["messaging", "node1", "node2", "node3"], endpoints.Resources.Keys);
            Assert.Equal("rabbitmq", endpoints.Resources["messaging"].Type);
            using (var client = new KvClient(endpoints.Resources["node2"].Endpoints["grpc"]))
            {
                await client.PutAsync("apphost/kept", "across runs");
            }

            using var http = new HttpClient();
            using var management = await http.GetAsync(new Uri(endpoints.Resources["messaging"].Endpoints["management"]));
            Assert.Equal(HttpStatusCode.OK, management.StatusCode);

            await StopWithSigintAsync(first);
        }

        Assert.False(File.Exists(endpointsPath), "the endpoints file outlived the AppHost");
        Assert.Empty(ProcessTable.Mentioning(folder.Path));

        // Second run, same folder: no port or state collision, and the data is still there.
        await using (var second = await StartAppHostAsync(folder.Path))
        {
            var endpoints = EndpointsFile.Load(endpointsPath);
            using (var client = new KvClient(endpoints.Resources["node3"].Endpoints["grpc"]))
            {
                Assert.Equal("across runs", await client.GetStringAsync("apphost/kept"));
            }

            await StopWithSigintAsync(second);
        }

        Assert.False(File.Exists(endpointsPath));
        Assert.Empty(ProcessTable.Mentioning(folder.Path));
    }

    [Fact]
    public async Task AppHost_with_a_bad_argument_says_how_to_use_it()
    {
        var (exitCode, output) = await ManagedProcess.RunToExitAsync(DotNetHost.Run("apphost", AppHostPath, ["--replicas", "many"], new Dictionary<string, string?>()), Patience);

        Assert.Equal(2, exitCode);
        Assert.Contains("--replicas must be a whole number", output);
        Assert.Contains("Usage:", output);
    }

    [Fact]
    public async Task AppHost_without_any_broker_stops_and_says_how_to_get_one()
    {
        using var folder = new TempDirectory("aspirekv-apphost-nobroker");
        var environment = new Dictionary<string, string?>
        {
            // No rabbitmq-server where the AppHost looks, and no Docker engine on this machine.
            [AspireKv.Hosting.Broker.RabbitMqServer.ServerScriptVariable] = Path.Combine(folder.Path, "no-rabbitmq-server-here"),
            ["DOCKER_HOST"] = "unix://" + Path.Combine(folder.Path, "no-docker.sock"),
        };
        var (exitCode, output) = await ManagedProcess.RunToExitAsync(DotNetHost.Run("apphost", AppHostPath, ["--no-dashboard"], environment) with { WorkingDirectory = folder.Path }, Patience);

        Assert.Equal(1, exitCode);
        Assert.Contains("No RabbitMQ broker is available", output);
        Assert.Contains("apt-get install -y rabbitmq-server", output);
        Assert.Contains("ConnectionStrings__messaging", output);
        Assert.Empty(ProcessTable.Mentioning(folder.Path));
    }

    private static string AppHostPath => typeof(Program).Assembly.Location;

    private static async Task<ManagedProcess> StartAppHostAsync(string folder)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var spec = DotNetHost.Run("apphost", AppHostPath, ["--no-dashboard"], new Dictionary<string, string?> { ["NO_COLOR"] = "1" }) with { WorkingDirectory = folder };
        var process = ManagedProcess.Start(spec, line =>
        {
            if (line.Text.Contains("AspireKv is ready", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        });
        var finished = await Task.WhenAny(ready.Task, process.Exited, Task.Delay(Patience));
        if (finished != ready.Task)
        {
            var output = string.Join('\n', process.RecentOutput.TakeLast(60).Select(l => l.Text));
            await process.DisposeAsync();
            Assert.Fail($"The AppHost did not become ready:\n{output}");
        }

        return process;
    }

    private static async Task StopWithSigintAsync(ManagedProcess apphost)
    {
        apphost.Interrupt();
        var exitCode = await apphost.Exited.WaitAsync(Patience);
        await Task.Delay(200);
        Assert.True(exitCode == 0, $"The AppHost exited with {exitCode}:\n{string.Join('\n', apphost.RecentOutput.TakeLast(40).Select(l => l.Text))}");
        Assert.Contains(apphost.RecentOutput, l => l.Text == "Stopped.");
    }
}
