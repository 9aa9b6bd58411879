using System.Net;
using AspireKv.Client;
using AspireKv.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>The AppHost as a user runs it: a process started in a folder, stopped with Ctrl+C (SIGINT) or SIGTERM, started again.</summary>
public sealed class AppHostProcessTests
{
    [Fact]
    public async Task AppHost_starts_stops_on_sigint_and_starts_again_with_another_replica_leaving_nothing_behind()
    {
        using var folder = new TempDirectory("aspirekv-apphost-run");

        // First run: write a value.
        await using (var first = await AppHostProcess.StartAsync(folder.Path, "--no-dashboard"))
        {
            var endpoints = first.Endpoints;
            Assert.Equal(first.Pid, endpoints.AppHostPid);
            Assert.Equal(["messaging", "node1", "node2", "node3"], endpoints.Resources.Keys);
            Assert.Equal("rabbitmq", endpoints.Resources["messaging"].Type);
            Assert.StartsWith("amqp://guest:", endpoints.Resources["messaging"].ConnectionString);
            using (var client = new KvClient(endpoints.Resources["node2"].Endpoints["grpc"]))
            {
                await client.PutAsync("apphost/kept", "across runs");
            }

            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
            using var management = await http.GetAsync(new Uri(endpoints.Resources["messaging"].Endpoints["management"]));
            Assert.Equal(HttpStatusCode.OK, management.StatusCode);

            // A second AppHost in the same folder says who runs there, fails, and leaves the first one's files alone.
            var (secondExit, secondOutput) = await AppHostProcess.RunToExitAsync(folder.Path, ["--no-dashboard"]);
            Assert.Equal(1, secondExit);
            Assert.Contains($"An AppHost (pid {first.Pid}) is already running in this folder", secondOutput);
            Assert.Contains($"kill {first.Pid}", secondOutput);
            Assert.DoesNotContain("Exception", secondOutput);
            Assert.True(File.Exists(first.EndpointsPath), "the second AppHost deleted the first one's endpoints file");
            Assert.Equal(first.Pid, first.Endpoints.AppHostPid);
            using (var client = new KvClient(endpoints.Resources["node1"].Endpoints["grpc"]))
            {
                Assert.Equal("across runs", await client.GetStringAsync("apphost/kept"));
            }

            await first.StopAsync(interrupt: true);
            Assert.False(File.Exists(first.EndpointsPath), "the endpoints file outlived the AppHost");
        }

        // Second run, same folder, one replica more, stopped with SIGTERM: no port or state
        // collision, the data is still there, and node4 (an empty folder of its own) has caught up.
        await using (var second = await AppHostProcess.StartAsync(folder.Path, "--no-dashboard", "--replicas", "4"))
        {
            var endpoints = second.Endpoints;
            Assert.Equal(["messaging", "node1", "node2", "node3", "node4"], endpoints.Resources.Keys);
            foreach (var node in new[] { "node3", "node4" })
            {
                using var client = new KvClient(endpoints.Resources[node].Endpoints["grpc"]);
                Assert.Equal("across runs", await client.GetStringAsync("apphost/kept"));
            }

            await second.StopAsync(interrupt: false);
            Assert.False(File.Exists(second.EndpointsPath));
        }
    }

    [Fact]
    public async Task AppHost_disposed_without_being_stopped_as_a_failing_test_leaves_it_outlives_nothing_it_started()
    {
        // A test that fails disposes its AppHost without StopAsync, and then removes its folder: a
        // node still stopping then wrote its last snapshot into a folder made again (seen on this machine).
        using var folder = new TempDirectory("aspirekv-apphost-dispose");
        var apphost = await AppHostProcess.StartAsync(folder.Path, "--no-dashboard");
        using (var client = new KvClient(apphost.Endpoints.Resources["node1"].Endpoints["grpc"]))
        {
            await client.PutAsync("apphost/disposed", "a state to snapshot");
        }

        await apphost.DisposeAsync();
        Assert.Empty(apphost.LeftBehind());
    }

    [Fact]
    public void The_command_line_becomes_settings_and_a_bad_one_says_what_is_wrong()
    {
        var options = AspireKvAppHost.Parse(["--replicas", "5", "--spares", "2", "--brokers", "3", "--state-dir", "/tmp/x", "--reset", "--no-broker-install", "--no-dashboard", "--Node:SnapshotInterval=00:00:05"]);

        Assert.True(options.DisableDashboard);
        Assert.Equal(["--Replicas=5", "--Spares=2", "--Brokers=3", "--StateDirectory=/tmp/x", "--Reset=true", "--Broker:Install=false", "--Node:SnapshotInterval=00:00:05"], options.Args!.Where(a => !a.StartsWith("--contentRoot=", StringComparison.Ordinal)));
        Assert.True(Assert.Throws<UsageException>(() => AspireKvAppHost.Parse(["--help"])).IsHelp);
        Assert.Equal("--brokers must be a whole number from 1 to 9, not '10'.", Assert.Throws<UsageException>(() => AspireKvAppHost.Parse(["--brokers", "10"])).Message);
        Assert.Equal("--state-dir needs a value.", Assert.Throws<UsageException>(() => AspireKvAppHost.Parse(["--state-dir"])).Message);
        Assert.Equal("Unknown argument 'node'.", Assert.Throws<UsageException>(() => AspireKvAppHost.Parse(["node"])).Message);
    }

    [Fact]
    public async Task AppHost_with_a_bad_argument_says_how_to_use_it()
    {
        using var folder = new TempDirectory("aspirekv-apphost-usage");
        var (exitCode, output) = await AppHostProcess.RunToExitAsync(folder.Path, ["--replicas", "many"]);
        var (helpExit, help) = await AppHostProcess.RunToExitAsync(folder.Path, ["--help"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("--replicas must be a whole number from 1 to 64, not 'many'", output);
        Assert.Contains("Usage:", output);
        Assert.Equal(0, helpExit);
        Assert.Contains("--brokers N", help);
        Assert.Empty(ProcessTable.Mentioning(folder.Path));
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
        Assert.DoesNotContain("   at ", output); // one message, no stack trace
        Assert.Empty(leftovers);
    }

    [Fact]
    public async Task AppHost_never_installs_a_package_that_would_not_be_where_it_was_told_to_look()
    {
        var (exitCode, output, leftovers) = await RunWithoutBrokerAsync(["--no-dashboard"]);

        Assert.Equal(1, exitCode);
        Assert.Contains("which a package install would not create", output);
        Assert.Contains("sudo apt-get install -y rabbitmq-server", output);
        Assert.DoesNotContain("Installing rabbitmq-server with apt-get", output);
        Assert.Empty(leftovers);
    }

    [Fact]
    public async Task AppHost_with_an_unreachable_broker_fails_within_a_bounded_time_with_one_message()
    {
        using var folder = new TempDirectory("aspirekv-apphost-unreachable");
        var port = AspireKv.Hosting.PortAllocator.Next(); // nothing listens there
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__messaging"] = $"amqp://guest:guest@127.0.0.1:{port}",
            ["Broker__ReachTimeoutSeconds"] = "3",
        };

        var (exitCode, output) = await AppHostProcess.RunToExitAsync(folder.Path, ["--no-dashboard"], environment);

        Assert.Equal(1, exitCode);
        Assert.Contains($"The broker at amqp://127.0.0.1:{port} cannot be reached", output);
        Assert.Contains("(ConnectionStrings__messaging)", output);
        Assert.Single(output.Split('\n'), l => l.StartsWith("The AppHost could not start", StringComparison.Ordinal));
        Assert.True(output.Split('\n').Length < 40, $"Too much output for one failure:\n{output}");
        Assert.DoesNotContain("node1", output); // no node was started against it
        await Eventually.TrueAsync(() => ProcessTable.Mentioning(folder.Path).Count == 0, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AppHost_refuses_a_dashboard_port_it_cannot_have()
    {
        using var folder = new TempDirectory("aspirekv-apphost-ports");
        using var busy = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var taken = ((IPEndPoint)busy.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var (rangeExit, rangeOutput) = await AppHostProcess.RunToExitAsync(folder.Path, ["--dashboard-port", "99999"]);
        var (busyExit, busyOutput) = await AppHostProcess.RunToExitAsync(folder.Path, ["--dashboard-port", taken]);

        Assert.Equal(2, rangeExit);
        Assert.Contains("--dashboard-port must be a port number from 1 to 65535", rangeOutput);
        Assert.Equal(1, busyExit);
        Assert.Contains($"The dashboard cannot listen on port {taken} (--dashboard-port): another program uses it", busyOutput);
        Assert.Empty(ProcessTable.Mentioning(folder.Path));
    }

    /// <summary>Runs the AppHost with no rabbitmq-server where it looks and no container runtime that answers.</summary>
    private static async Task<(int ExitCode, string Output, IReadOnlyList<(int Pid, string CommandLine)> Leftovers)> RunWithoutBrokerAsync(string[] arguments)
    {
        using var folder = new TempDirectory("aspirekv-apphost-nobroker");
        var environment = new Dictionary<string, string?>
        {
            [AspireKv.Hosting.RabbitMQ.BrokerLayout.ServerScriptVariable] = Path.Combine(folder.Path, "no-rabbitmq-server-here"),
            ["DOCKER_HOST"] = "unix://" + Path.Combine(folder.Path, "no-docker.sock"),
        };
        var (exitCode, output) = await AppHostProcess.RunToExitAsync(folder.Path, arguments, environment);
        return (exitCode, output, ProcessTable.Mentioning(folder.Path));
    }
}
