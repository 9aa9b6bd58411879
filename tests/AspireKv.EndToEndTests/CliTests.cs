using System.Text.Json;
using AspireKv.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>The built <c>aspirekv</c> CLI as a process, against the running topology, found through its endpoints file.</summary>
[Collection(TopologyCollection.Name)]
public sealed class CliTests(TopologyFixture fixture)
{
    [Fact]
    public async Task One_shot_verbs_work_and_use_the_documented_exit_codes()
    {
        var key = $"cli/{Guid.NewGuid():N}";

        var put = await Cli("put", key, "first");
        Assert.True(put.ExitCode == 0 && put.Output.StartsWith("OK (revision ", StringComparison.Ordinal), $"exit {put.ExitCode}: {put.Output} {put.Error}");

        var get = await Cli("--target", "node3", "get", key);
        Assert.Equal((0, "first"), (get.ExitCode, get.Output.Trim()));

        var missing = await Cli("get", key + "/missing");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("not found", missing.Error);

        var json = await Cli("--output", "json", "get", key);
        using (var document = JsonDocument.Parse(json.Output))
        {
            Assert.Equal(0, json.ExitCode);
            Assert.Equal("first", document.RootElement.GetProperty("value").GetString());
            Assert.True(document.RootElement.GetProperty("found").GetBoolean());
            Assert.Equal(1, document.RootElement.GetProperty("version").GetInt64());
        }

        var conflict = await Cli("set", key, "second", "--if-revision", "1");
        Assert.Equal(4, conflict.ExitCode);
        Assert.Contains("compare-and-set failed", conflict.Error);

        var modRevision = JsonDocument.Parse(json.Output).RootElement.GetProperty("modRevision").GetInt64();
        var swapped = await Cli("set", key, "second", "--if-revision", modRevision.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0, swapped.ExitCode);

        var deleted = await Cli("-o", "json", "del", key);
        Assert.Equal(0, deleted.ExitCode);
        Assert.Equal(1, JsonDocument.Parse(deleted.Output).RootElement.GetProperty("deleted").GetInt64());
    }

    [Fact]
    public async Task Values_come_from_stdin_and_from_files()
    {
        var key = $"cli/{Guid.NewGuid():N}";
        using var folder = new TempDirectory("aspirekv-cli-value");
        var file = folder.Combine("value.txt");
        await File.WriteAllTextAsync(file, "from a file");

        Assert.Equal(0, (await Cli("put", key + "/file", "@" + file)).ExitCode);
        Assert.Equal(0, (await CliWithInput("from stdin", "put", key + "/stdin", "-")).ExitCode);

        Assert.Equal("from a file", (await Cli("get", key + "/file")).Output.Trim());
        Assert.Equal("from stdin", (await Cli("get", key + "/stdin")).Output.Trim());
    }

    [Fact]
    public async Task List_prints_a_prefix_sorted_and_honours_the_limit()
    {
        var prefix = $"cli-list/{Guid.NewGuid():N}/";
        foreach (var name in new[] { "c", "a", "b" })
        {
            await fixture.App.CreateKvClient("node1").PutAsync(prefix + name, name.ToUpperInvariant());
        }

        var all = await Cli("print", prefix);
        var limited = await Cli("-o", "json", "list", prefix, "--limit", "2");

        Assert.Equal([$"{prefix}a=A", $"{prefix}b=B", $"{prefix}c=C"], all.Output.Trim().Split('\n'));
        using var document = JsonDocument.Parse(limited.Output);
        Assert.Equal(2, document.RootElement.GetProperty("entries").GetArrayLength());
        Assert.True(document.RootElement.TryGetProperty("continuation", out _));
    }

    [Fact]
    public async Task Status_shows_every_node_with_its_revision_and_lag()
    {
        var status = await Cli("-o", "json", "status");

        Assert.Equal(0, status.ExitCode);
        using var document = JsonDocument.Parse(status.Output);
        var nodes = document.RootElement.EnumerateArray().ToList();
        Assert.Equal(["node1", "node2", "node3"], nodes.Select(n => n.GetProperty("name").GetString()));
        Assert.All(nodes, n => Assert.True(n.GetProperty("reachable").GetBoolean()));
        Assert.All(nodes, n => Assert.True(n.GetProperty("appliedRevision").GetInt64() >= 0));
        Assert.All(nodes, n => Assert.True(n.GetProperty("lag").GetInt64() >= 0));
        Assert.Contains("serving", (await Cli("status")).Output);
    }

    [Fact]
    public async Task Bad_usage_and_unreachable_nodes_get_their_exit_codes()
    {
        var noKey = await Cli("get");
        Assert.Equal(2, noKey.ExitCode);

        var emptyKey = await Cli("put", string.Empty, "v");
        Assert.Equal(2, emptyKey.ExitCode);
        Assert.Contains("key is empty", emptyKey.Error);

        var unknownNode = await Cli("--target", "node9", "get", "x");
        Assert.Equal(2, unknownNode.ExitCode);
        Assert.Contains("node1, node2, node3", unknownNode.Error);

        var port = AspireKv.Hosting.PortAllocator.Next();
        var nobody = await Cli("--target", $"127.0.0.1:{port}", "get", "x");
        Assert.Equal(3, nobody.ExitCode);
        Assert.Contains($"http://127.0.0.1:{port} cannot be reached", nobody.Error);
    }

    [Fact]
    public async Task Scripted_repl_session_sets_gets_prints_and_survives_a_bad_command()
    {
        // The seed's session, as a script on stdin (no other test writes the key x).
        var script = string.Join('\n',
            "SET x 1",
            "SET x 2",
            "GET x",
            "PRINT",
            "FROB everything",
            "SET",
            "set greeting \"hello world\"",
            "USE node3",
            $"USE 127.0.0.1:{AspireKv.Hosting.PortAllocator.Next()}",
            "get greeting",
            "EXIT",
            "SET x never") + "\n";

        var session = await CliWithInput(script, "repl");

        // Commands failed, so the script's status is the last failure's: a node that could not be reached.
        Assert.Equal(3, session.ExitCode);
        var lines = session.Output.Trim().Split('\n');
        Assert.StartsWith("OK (revision ", lines[0]);
        Assert.StartsWith("OK (revision ", lines[1]);
        Assert.Equal("2", lines[2]);
        var printed = lines.Skip(3).TakeWhile(l => !l.StartsWith("(error)", StringComparison.Ordinal)).ToList();
        Assert.Contains("x=2", printed);
        var keys = printed.Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)]).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
        var rest = lines.Skip(3 + printed.Count).ToList();
        Assert.Contains("unknown command 'FROB'", rest[0]);
        Assert.Contains("usage: SET key value", rest[1]);
        Assert.StartsWith("OK (revision ", rest[2]);
        Assert.StartsWith("using node3", rest[3]);
        Assert.Contains("does not answer", rest[4]);
        Assert.Contains("still using node3", rest[4]);
        Assert.Equal("hello world", rest[5]);
        Assert.Equal(6, rest.Count);
        Assert.Equal("2", await fixture.App.CreateKvClient("node1").GetStringAsync("x"));
    }

    [Fact]
    public async Task In_a_terminal_the_REPL_recalls_the_last_command_with_Up()
    {
        // A pseudo-terminal, driven by Python's pty module, stands in for a person at a terminal.
        var key = $"cli/pty/{Guid.NewGuid():N}";
        var driver = Path.Combine(AppContext.BaseDirectory, "interop", "python", "repl_pty.py");
        var cli = AspireKv.Hosting.ResourceProjects.GetPath(AspireKv.Hosting.ResourceProjects.Cli, typeof(CliTests).Assembly);
        var environment = new Dictionary<string, string?> { [AspireKv.Client.Discovery.EndpointsFile.EnvironmentVariable] = fixture.App.EndpointsFile };

        var (exitCode, screen) = await ManagedProcess.RunToExitAsync(
            new ProcessSpec("repl-pty", "/usr/bin/python3", [driver, AspireKv.Hosting.Programs.DotNet, cli, $"SET {key} typed once", "<UP>"], null, environment), TimeSpan.FromSeconds(120));

        Assert.True(exitCode == 0, screen);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(screen, @"OK \(revision \d+\)").Count);
        var entry = await fixture.App.CreateKvClient("node1").GetAsync(key);
        Assert.Equal(2, entry.Entry.Version); // the recalled SET ran again
    }

    [Fact]
    public async Task A_script_whose_commands_all_worked_exits_zero()
    {
        var session = await CliWithInput("SET cli/ok 1\nGET cli/ok\nGET cli/absent\n", "repl");

        Assert.True(session.ExitCode == 0, session.Output + session.Error);
        Assert.Contains("(not found)", session.Output);
    }

    [Theory]
    [InlineData("--timeout 5x get k", "--timeout '5x' is not a duration")]
    [InlineData("--timeout -1s get k", "--timeout '-1s' is not a duration")]
    [InlineData("--timeout 0s get k", "--timeout '0s' is not a duration; write it as 500ms, 10s, 2m or 1h, more than 0")]
    [InlineData("bench -d 5x", "--duration '5x' is not a duration")]
    [InlineData("bench --warmup soon", "--warmup 'soon' is not a duration; write it as 500ms, 10s, 2m or 1h, or 0s")]
    [InlineData("put k v --if-revision abc", "--if-revision 'abc' is not a revision")]
    [InlineData("list --limit -3", "--limit must be 0 (all) or more")]
    [InlineData("bench --rate -5", "--rate must be 0 (no limit) or more operations per second")]
    public async Task Bad_option_values_are_usage_errors_with_status_2_and_no_stack_trace(string arguments, string message)
    {
        var result = await Cli(arguments.Split(' '));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"error: {message}", result.Error);
        Assert.DoesNotContain("Exception", result.Error);
        Assert.DoesNotContain("System.", result.Error);
    }

    [Fact]
    public async Task Help_shows_durations_as_people_write_them()
    {
        var help = await Cli("--help");

        Assert.Equal(0, help.ExitCode);
        Assert.Contains("[default: 10s]", help.Output);
        Assert.DoesNotContain("00:00:10", help.Output);
    }

    [Fact]
    public async Task A_node_that_does_not_answer_in_time_is_named_with_the_limit()
    {
        // Accepts connections and never answers: the call can only run out of time.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var address = $"127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}";

        var result = await Cli("--target", address, "--timeout", "700ms", "get", "k");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"http://{address} did not answer within 700 ms (--timeout)", result.Error);
    }

    [Fact]
    public async Task Without_an_AppHost_the_CLI_says_none_was_found_and_how_to_start_one()
    {
        using var folder = new TempDirectory("aspirekv-cli-alone");

        var get = await AspireKvCli.RunWithoutAppHostAsync(folder.Path, null, "get", "k");
        var repl = await AspireKvCli.RunWithoutAppHostAsync(folder.Path, "GET k\n", "repl");

        Assert.Equal(3, get.ExitCode);
        Assert.Contains("no running AppHost was found", get.Error);
        Assert.Contains("dotnet run --project AspireKv.AppHost", get.Error);
        Assert.Contains("--target", get.Error);
        Assert.Equal(3, repl.ExitCode);
        Assert.Contains("(error) No AspireKv node answers: no running AppHost was found", repl.Output);
    }

    [Fact]
    public async Task Json_output_keeps_plus_signs_readable()
    {
        var status = await Cli("-o", "json", "status");

        Assert.Equal(0, status.ExitCode);
        Assert.DoesNotContain("\\u002B", status.Output);
        Assert.Contains("\"version\"", status.Output);
    }

    [Fact]
    public async Task Short_bench_emits_json_with_throughput_for_each_kind()
    {
        var bench = await Cli("bench", "--clients", "4", "--ops", "200", "--warmup", "0", "--keys", "50",
            "--workload", "put,get-linearizable,get-serializable,mixed", "--baseline", "broker", "--output", "json");

        Assert.True(bench.ExitCode == 0, $"exit {bench.ExitCode}: {bench.Error}\n{bench.Output}");
        using var document = JsonDocument.Parse(bench.Output);
        var results = document.RootElement.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("kind").GetString()!);
        Assert.Equal(["broker-baseline", "get-linearizable", "get-serializable", "mixed", "put"], results.Keys.Order());
        foreach (var (kind, result) in results)
        {
            Assert.True(result.GetProperty("opsPerSecond").GetDouble() > 0, $"{kind} has no throughput");
            Assert.Equal(200, result.GetProperty("operations").GetInt64());
            Assert.True(result.GetProperty("latencyMs").GetProperty("p99").GetDouble() > 0);
        }

        Assert.Equal(3, document.RootElement.GetProperty("ratios").GetArrayLength());
        // Lag is sampled during the Puts; a run this short may finish before a sample does, but the field is always there.
        var lag = document.RootElement.GetProperty("replicationLagMs");
        Assert.True(lag.GetProperty("samples").GetInt32() >= 0);
        Assert.Equal(lag.GetProperty("samples").GetInt32() > 0, lag.TryGetProperty("p99", out _));
    }

    [Fact]
    public async Task Bench_drives_etcds_api_with_the_same_loop()
    {
        // The nodes' etcd endpoint stands in for etcd here; bench/compare-etcd.sh points it at a real etcd.
        var bench = await Cli("bench", "--api", "etcd", "--targets", "node1,node2,node3", "--clients", "4", "--ops", "150", "--warmup", "0", "--keys", "20",
            "--workload", "put,get-linearizable,get-serializable", "--output", "json");

        Assert.True(bench.ExitCode == 0, $"exit {bench.ExitCode}: {bench.Error}\n{bench.Output}");
        using var document = JsonDocument.Parse(bench.Output);
        Assert.Equal("etcd", document.RootElement.GetProperty("api").GetString());
        var results = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["put", "get-linearizable", "get-serializable"], results.Select(r => r.GetProperty("kind").GetString()));
        Assert.All(results, r => Assert.Equal(150, r.GetProperty("operations").GetInt64()));
        Assert.All(results, r => Assert.Equal(0, r.GetProperty("errors").GetInt64()));
        Assert.True((await fixture.App.CreateKvClient("node2").GetAsync("bench/0000019")).Found, "the etcd API's Puts are in the store");
    }

    private Task<(int ExitCode, string Output, string Error)> Cli(params string[] arguments) => CliWithInput(null, arguments);

    private Task<(int ExitCode, string Output, string Error)> CliWithInput(string? stdin, params string[] arguments) =>
        AspireKvCli.RunAsync(fixture, stdin, arguments);
}
