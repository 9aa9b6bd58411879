using AspireKv.Cli;
using AspireKv.Cli.Bench;
using AspireKv.Cli.Repl;
using AspireKv.Cli.Targeting;
using AspireKv.Client.Discovery;
using AspireKv.Testing;
using Microsoft.Extensions.Configuration;

namespace AspireKv.UnitTests;

public sealed class CliTests : IDisposable
{
    private readonly TempDirectory _folder = new("aspirekv-cli-test");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Latencies_merge_and_report_milliseconds()
    {
        var a = Latencies.Create();
        var b = Latencies.Create();
        a.Record(TimeSpan.FromMicroseconds(10));
        b.Record(TimeSpan.FromMilliseconds(5));
        b.Record(TimeSpan.FromMicroseconds(20));

        a.Add(b);

        Assert.Equal(3, a.TotalCount);
        Assert.Equal(5.0, a.MaxMilliseconds(), 2);
        Assert.Equal(0.02, a.Milliseconds(50), 3);
        Assert.Equal(0, Latencies.Create().Milliseconds(99));
    }

    [Fact]
    public async Task Bench_at_a_rate_waits_for_each_clients_turn_and_says_so()
    {
        // 10 operations at 50/s from 2 clients: each client has a turn every 40 ms, the second
        // 20 ms after the first, so the tenth cannot start before 180 ms. Without a rate they
        // would all be done at once: the operation itself takes no time.
        var result = await ClosedLoop.RunAsync(
            OperationKind.Put, clients: 2, duration: TimeSpan.FromMinutes(1), operations: 10, rate: 50, _ => () => Task.CompletedTask, _ => false, CancellationToken.None);

        Assert.Equal(10, result.Operations);
        Assert.True(result.Elapsed >= TimeSpan.FromMilliseconds(170), $"10 operations at 50/s took only {result.Elapsed.TotalMilliseconds:F0} ms");

        var report = new BenchReport(new BenchOptions { Clients = 2, Rate = 50 }, [], [result], null);
        Assert.Contains("2 clients at 50 ops/s in all over", report.ToText());
        Assert.Equal(50, (double)report.ToJson()["rate"]!);
    }

    [Fact]
    public void Bench_report_always_says_how_many_lag_samples_it_has()
    {
        var sampler = new ReplicationLagSampler([], _ => throw new InvalidOperationException());
        var put = new WorkloadResult(OperationKind.Put, 10, 0, TimeSpan.FromSeconds(1), Latencies.Create());
        var report = new BenchReport(new BenchOptions(), [], [put], sampler);

        var json = report.ToJson();

        Assert.Equal(0, (int)json["replicationLagMs"]!["samples"]!);
        Assert.Null(json["replicationLagMs"]!["p99"]);
        Assert.Contains("no sample finished", report.ToText());
        Assert.Null(new BenchReport(new BenchOptions(), [], [put], null).ToJson()["replicationLagMs"]);
    }

    [Theory]
    [InlineData("SET x 1", "SET", "x", "1")]
    [InlineData("set x hello world", "SET", "x", "hello world")]
    [InlineData("SET   x    spaced   out  ", "SET", "x", "spaced   out  ")]
    [InlineData("SET \"my key\" \"quoted \\\"value\\\"\"", "SET", "my key", "quoted \"value\"")]
    [InlineData("Set k \"\"", "SET", "k", "")]
    [InlineData("SET k \"half\" open", "SET", "k", "\"half\" open")]
    public void Repl_set_takes_the_rest_of_the_line_as_the_value(string line, string command, string key, string value)
    {
        var parsed = ReplLine.Parse(line)!;

        Assert.Equal(command, parsed.Command);
        Assert.Equal((key, value), parsed.KeyAndValue());
    }

    [Theory]
    [InlineData("SET")]
    [InlineData("SET k")]
    [InlineData("SET k   ")]
    public void Repl_set_without_a_value_is_not_a_set(string line) => Assert.Null(ReplLine.Parse(line)!.KeyAndValue());

    [Fact]
    public void Repl_words_may_be_quoted_and_blank_lines_are_nothing()
    {
        Assert.Equal(["a key", "b"], ReplLine.Parse("get \"a key\" b")!.Words);
        Assert.Null(ReplLine.Parse("   "));
        Assert.Throws<FormatException>(() => ReplLine.Parse("GET \"open"));
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("10s", 10)]
    [InlineData("2m", 120)]
    [InlineData("1h", 3600)]
    [InlineData("1.5", 1.5)]
    public void Durations_read_as_people_type_them(string text, double seconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(seconds, duration.TotalSeconds, 6);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-1s")]
    [InlineData("0")]
    [InlineData("")]
    public void Durations_refuse_what_is_not_one(string text) => Assert.False(Durations.TryParse(text, out _));

    [Fact]
    public void Values_come_literally_from_stdin_or_from_a_file()
    {
        var file = _folder.Combine("value.bin");
        File.WriteAllBytes(file, [1, 2, 3]);

        Assert.Equal("plain"u8.ToArray(), ValueSource.Read("plain", () => throw new InvalidOperationException()));
        Assert.Equal("piped"u8.ToArray(), ValueSource.Read("-", () => new MemoryStream("piped"u8.ToArray())));
        Assert.Equal(new byte[] { 1, 2, 3 }, ValueSource.Read("@" + file, () => throw new InvalidOperationException()));
        Assert.Equal("@literal"u8.ToArray(), ValueSource.Read("@@literal", () => throw new InvalidOperationException()));
        var missing = Assert.Throws<CliException>(() => ValueSource.Read("@" + _folder.Combine("missing"), () => Stream.Null));
        Assert.Equal(ExitCodes.Usage, missing.ExitCode);
    }

    [Fact]
    public async Task Target_names_resolve_from_the_endpoints_file_in_a_parent_folder()
    {
        WriteEndpoints(_folder.Path, ("node1", "http://127.0.0.1:7001"), ("node2", "http://127.0.0.1:7002"));
        var deeper = Directory.CreateDirectory(_folder.Combine("a", "b")).FullName;

        await using var resolver = new TargetResolver(deeper, new ConfigurationBuilder().Build());

        Assert.Equal(new Uri("http://127.0.0.1:7002"), (await resolver.ResolveAsync("node2")).Address);
        Assert.Equal(new Uri("http://127.0.0.1:7002"), (await resolver.ResolveAsync("NODE2")).Address);
        Assert.Equal("node1", (await resolver.ResolveAsync(null)).Name);
        Assert.Equal(["node1", "node2"], resolver.KnownNodes().Select(n => n.Name));
    }

    [Fact]
    public async Task Target_names_resolve_from_aspire_services_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["services:node3:grpc:0"] = "http://localhost:7103",
            ["services:node3:http:0"] = "http://localhost:7203",
        }).Build();

        await using var resolver = new TargetResolver(Directory.CreateDirectory(_folder.Combine("empty")).FullName, configuration);

        Assert.Equal(new Uri("http://localhost:7103"), (await resolver.ResolveAsync("node3")).Address);
    }

    [Theory]
    [InlineData("127.0.0.1:5001", "http://127.0.0.1:5001/")]
    [InlineData("http://127.0.0.1:5002", "http://127.0.0.1:5002/")]
    [InlineData("localhost:6000", "http://localhost:6000/")]
    public async Task Target_addresses_need_no_discovery(string target, string address)
    {
        await using var resolver = new TargetResolver(_folder.Path, new ConfigurationBuilder().Build());

        Assert.Equal(new Uri(address), (await resolver.ResolveAsync(target)).Address);
    }

    [Fact]
    public async Task Unknown_target_name_is_a_usage_error_that_names_the_known_nodes()
    {
        WriteEndpoints(_folder.Path, ("node1", "http://127.0.0.1:7001"));
        await using var resolver = new TargetResolver(_folder.Path, new ConfigurationBuilder().Build());

        var ex = await Assert.ThrowsAsync<CliException>(() => resolver.ResolveAsync("node9"));

        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.Contains("node1", ex.Message);
    }

    [Fact]
    public async Task Without_any_discovery_the_default_target_is_a_standalone_node()
    {
        await using var resolver = new TargetResolver(_folder.Path, new ConfigurationBuilder().Build());

        Assert.Equal(TargetResolver.StandaloneAddress, (await resolver.ResolveAsync(null)).Address);
    }

    [Fact]
    public async Task Clients_are_shared_safely_by_concurrent_bench_clients()
    {
        for (var round = 0; round < 20; round++)
        {
            var resolver = new TargetResolver(_folder.Path, new ConfigurationBuilder().Build());
            await using var context = await CliContext.CreateAsync(resolver, "127.0.0.1:1", TimeSpan.FromSeconds(1), new Output(TextWriter.Null, TextWriter.Null, OutputFormat.Text));
            var addresses = Enumerable.Range(0, 16).Select(i => new Uri($"http://127.0.0.1:{10000 + i}")).ToArray();
            using var start = new Barrier(addresses.Length);
            var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();

            // As the bench does: every client asks for its node's client at the same moment.
            var threads = addresses.Select(a => new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    for (var i = 0; i < 100; i++)
                    {
                        context.Client(a);
                    }
                }
                catch (Exception ex)
                {
                    failures.Add(ex);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromMinutes(1)), "a thread never finished: the clients' table was corrupted"));

            Assert.Empty(failures);
            Assert.All(addresses, a => Assert.Equal(a, context.Client(a).Address));
            Assert.Equal(addresses.Length, addresses.Select(context.Client).Distinct().Count());
        }
    }

    [Fact]
    public void Endpoints_file_variable_overrides_the_search()
    {
        var elsewhere = _folder.Combine("elsewhere.json");

        Assert.Equal(elsewhere, EndpointsFile.Locate("/", name => name == EndpointsFile.EnvironmentVariable ? elsewhere : null));
    }

    private static void WriteEndpoints(string folder, params (string Name, string Grpc)[] nodes)
    {
        var file = new EndpointsFile();
        foreach (var (name, grpc) in nodes)
        {
            file.Resources[name] = new EndpointsFile.ResourceEntry { Type = "node", Endpoints = { ["grpc"] = grpc } };
        }

        file.Save(Path.Combine(folder, EndpointsFile.FolderName, EndpointsFile.FileName));
    }
}
