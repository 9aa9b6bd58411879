using AspireKv.Cli;
using AspireKv.Cli.Bench;
using AspireKv.Cli.Repl;
using AspireKv.Cli.Targeting;
using AspireKv.Client.Discovery;
using AspireKv.Hosting.Processes;
using Microsoft.Extensions.Configuration;

namespace AspireKv.UnitTests;

public sealed class CliTests : IDisposable
{
    private readonly TempDirectory _folder = new("aspirekv-cli-test");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Histogram_percentiles_are_within_a_tenth_of_a_percent_of_the_exact_ones()
    {
        var random = new Random(7);
        var samples = Enumerable.Range(0, 100_000).Select(_ => (long)Math.Exp(random.NextDouble() * 14)).ToArray();
        var histogram = new LatencyHistogram();
        foreach (var sample in samples)
        {
            histogram.Record(sample);
        }

        Array.Sort(samples);
        foreach (var percentile in new[] { 50.0, 90.0, 99.0, 99.9, 100.0 })
        {
            var exact = samples[(int)Math.Ceiling(percentile / 100 * samples.Length) - 1];
            var measured = histogram.Percentile(percentile);
            Assert.InRange(measured, exact, (long)(exact * 1.001) + 1);
        }

        Assert.Equal(samples.Length, histogram.Count);
        Assert.Equal(samples[^1], histogram.Max);
    }

    [Fact]
    public void Histogram_buckets_cover_every_value_without_gaps()
    {
        for (var index = 0; index < 40_000; index++)
        {
            var highest = LatencyHistogram.HighestValueIn(index);
            Assert.Equal(index, LatencyHistogram.IndexOf(highest));
            Assert.Equal(index + 1, LatencyHistogram.IndexOf(highest + 1));
        }
    }

    [Fact]
    public void Merged_histograms_count_everything()
    {
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        a.Record(10);
        b.Record(5000);
        b.Record(20);

        a.Add(b);

        Assert.Equal(3, a.Count);
        Assert.Equal(5000, a.Max);
        Assert.Equal(10, a.Min);
        Assert.Equal(20, a.Percentile(50));
    }

    [Fact]
    public void Bench_report_always_says_how_many_lag_samples_it_has()
    {
        var sampler = new ReplicationLagSampler([], _ => throw new InvalidOperationException());
        var put = new WorkloadResult(OperationKind.Put, 10, 0, TimeSpan.FromSeconds(1), new LatencyHistogram());
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
    public void Target_names_resolve_from_the_endpoints_file_in_a_parent_folder()
    {
        WriteEndpoints(_folder.Path, ("node1", "http://127.0.0.1:7001"), ("node2", "http://127.0.0.1:7002"));
        var deeper = Directory.CreateDirectory(_folder.Combine("a", "b")).FullName;

        var resolver = new TargetResolver(deeper, new ConfigurationBuilder().Build());

        Assert.Equal(new Uri("http://127.0.0.1:7002"), resolver.Resolve("node2").Address);
        Assert.Equal(new Uri("http://127.0.0.1:7002"), resolver.Resolve("NODE2").Address);
        Assert.Equal("node1", resolver.Resolve(null).Name);
        Assert.Equal(["node1", "node2"], resolver.KnownNodes().Select(n => n.Name));
    }

    [Fact]
    public void Target_names_resolve_from_aspire_services_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["services:node3:grpc:0"] = "http://localhost:7103",
            ["services:node3:http:0"] = "http://localhost:7203",
        }).Build();

        var resolver = new TargetResolver(Directory.CreateDirectory(_folder.Combine("empty")).FullName, configuration);

        Assert.Equal(new Uri("http://localhost:7103"), resolver.Resolve("node3").Address);
    }

    [Theory]
    [InlineData("127.0.0.1:5001", "http://127.0.0.1:5001/")]
    [InlineData("http://127.0.0.1:5002", "http://127.0.0.1:5002/")]
    [InlineData("localhost:6000", "http://localhost:6000/")]
    public void Target_addresses_need_no_discovery(string target, string address)
    {
        var resolver = new TargetResolver(_folder.Path, new ConfigurationBuilder().Build());

        Assert.Equal(new Uri(address), resolver.Resolve(target).Address);
    }

    [Fact]
    public void Unknown_target_name_is_a_usage_error_that_names_the_known_nodes()
    {
        WriteEndpoints(_folder.Path, ("node1", "http://127.0.0.1:7001"));
        var resolver = new TargetResolver(_folder.Path, new ConfigurationBuilder().Build());

        var ex = Assert.Throws<CliException>(() => resolver.Resolve("node9"));

        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.Contains("node1", ex.Message);
    }

    [Fact]
    public void Without_any_discovery_the_default_target_is_a_standalone_node() =>
        Assert.Equal(TargetResolver.StandaloneAddress, new TargetResolver(_folder.Path, new ConfigurationBuilder().Build()).Resolve(null).Address);

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
