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
    public async Task AppHost_starts_stops_on_sigint_and_starts_again_with_another_replica_leaving_nothing_behind()
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

            // A second AppHost in the same folder says who runs there, fails, and leaves the first one's files alone.
            var spec = DotNetHost.Run("apphost", AppHostPath, ["--no-dashboard"], new Dictionary<string, string?> { ["NO_COLOR"] = "1" }) with { WorkingDirectory = folder.Path };
            var (secondExit, secondOutput) = await ManagedProcess.RunToExitAsync(spec, Patience);
            Assert.Equal(1, secondExit);
            Assert.Contains($"An AppHost (pid {first.Pid}) is already running in this folder", secondOutput);
            Assert.Contains($"kill {first.Pid}", secondOutput);
            Assert.DoesNotContain("Exception", secondOutput);
            Assert.True(File.Exists(endpointsPath), "the second AppHost deleted the first one's endpoints file");
            Assert.Equal(first.Pid, EndpointsFile.Load(endpointsPath).AppHostPid);
            using (var client = new KvClient(endpoints.Resources["node1"].Endpoints["grpc"]))
            {
                Assert.Equal("across runs", await client.GetStringAsync("apphost/kept"));
            }

            await StopWithSigintAsync(first);
        }

        Assert.False(File.Exists(endpointsPath), "the endpoints file outlived the AppHost");
        Assert.Empty(ProcessTable.Mentioning(folder.Path));

        // Second run, same folder, one replica more: no port or state collision, the data is still
        // there, and the new node4 (an empty folder of its own) has caught up with it.
        await using (var second = await StartAppHostAsync(folder.Path, "--replicas", "4"))
        {
            var endpoints = EndpointsFile.Load(endpointsPath);
            Assert.Equal(["messaging", "node1", "node2", "node3", "node4"], endpoints.Resources.Keys);
            foreach (var node in new[] { "node3", "node4" })
            {
                using var client = new KvClient(endpoints.Resources[node].Endpoints["grpc"]);
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
    public async Task AppHost_without_any_broker_and_with_installing_turned_off_exits_non_zero_with_the_install_command()
    {
        var (exitCode, output, leftovers) = await RunWithoutBrokerAsync(["--no-dashboard", "--no-broker-install"]);

        Assert.Equal(1, exitCode);
        Assert.Contains("No RabbitMQ broker is available", output);
        Assert.Contains("installing it is turned off (Broker:Install=false)", output);
        Assert.Contains("sudo apt-get install -y rabbitmq-server", output);
        Assert.Contains("ConnectionStrings__messaging", output);
        Assert.Empty(leftovers);
    }

    [Fact]
    public async Task AppHost_never_installs_a_package_that_would_not_be_where_it_was_told_to_look()
    {
        var (exitCode, output, leftovers) = await RunWithoutBrokerAsync(["--no-dashboard"]);

        Assert.Equal(1, exitCode);
        Assert.Contains("which a package install would not create", output);
        Assert.Contains("sudo apt-get install -y rabbitmq-server", output);
        Assert.DoesNotContain("installing it with apt-get", output);
        Assert.Empty(leftovers);
    }

    [Fact]
    public async Task AppHost_with_an_unreachable_broker_fails_within_a_bounded_time_with_one_message()
    {
        using var folder = new TempDirectory("aspirekv-apphost-unreachable");
        var port = PortAllocator.Next(); // nothing listens there
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__messaging"] = $"amqp://guest:guest@127.0.0.1:{port}",
            ["Broker__ReachTimeoutSeconds"] = "3",
        };

        var (exitCode, output) = await ManagedProcess.RunToExitAsync(DotNetHost.Run("apphost", AppHostPath, ["--no-dashboard"], environment) with { WorkingDirectory = folder.Path }, Patience);

        Assert.Equal(1, exitCode);
        Assert.Contains($"The broker at amqp://127.0.0.1:{port} (ConnectionStrings__messaging) cannot be reached", output);
        Assert.Single(output.Split('\n'), l => l.StartsWith("The AppHost could not start", StringComparison.Ordinal));
        Assert.True(output.Split('\n').Length < 30, $"Too much output for one failure:\n{output}");
        Assert.DoesNotContain("node1", output); // no node was started against it
        Assert.Empty(ProcessTable.Mentioning(folder.Path));
    }

    [Fact]
    public async Task AppHost_refuses_a_dashboard_port_it_cannot_have()
    {
        using var folder = new TempDirectory("aspirekv-apphost-ports");
        using var busy = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var taken = ((IPEndPoint)busy.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var (rangeExit, rangeOutput) = await ManagedProcess.RunToExitAsync(DotNetHost.Run("apphost", AppHostPath, ["--dashboard-port", "99999"], new Dictionary<string, string?>()) with { WorkingDirectory = folder.Path }, Patience);
        var (busyExit, busyOutput) = await ManagedProcess.RunToExitAsync(DotNetHost.Run("apphost", AppHostPath, ["--dashboard-port", taken], new Dictionary<string, string?>()) with { WorkingDirectory = folder.Path }, Patience);

        Assert.Equal(2, rangeExit);
        Assert.Contains("--dashboard-port must be a port number from 1 to 65535", rangeOutput);
        Assert.Equal(1, busyExit);
        Assert.Contains($"The dashboard cannot listen on port {taken} (--dashboard-port): another program uses it", busyOutput);
        Assert.Empty(ProcessTable.Mentioning(folder.Path));
    }

    /// <summary>Runs the AppHost with no rabbitmq-server where it looks and no Docker engine.</summary>
    private static async Task<(int ExitCode, string Output, IReadOnlyList<(int Pid, string CommandLine)> Leftovers)> RunWithoutBrokerAsync(string[] arguments)
    {
        using var folder = new TempDirectory("aspirekv-apphost-nobroker");
        var environment = new Dictionary<string, string?>
        {
            [AspireKv.Hosting.Broker.RabbitMqServer.ServerScriptVariable] = Path.Combine(folder.Path, "no-rabbitmq-server-here"),
            ["DOCKER_HOST"] = "unix://" + Path.Combine(folder.Path, "no-docker.sock"),
        };
        var (exitCode, output) = await ManagedProcess.RunToExitAsync(DotNetHost.Run("apphost", AppHostPath, arguments, environment) with { WorkingDirectory = folder.Path }, Patience);
        return (exitCode, output, ProcessTable.Mentioning(folder.Path));
    }

    private static string AppHostPath => typeof(Program).Assembly.Location;

    private static async Task<ManagedProcess> StartAppHostAsync(string folder, params string[] arguments)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var spec = DotNetHost.Run("apphost", AppHostPath, ["--no-dashboard", .. arguments], new Dictionary<string, string?> { ["NO_COLOR"] = "1" }) with { WorkingDirectory = folder };
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
