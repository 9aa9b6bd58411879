using System.Globalization;
using System.Net;

namespace AspireKv.EndToEndTests;

/// <summary>Telemetry from every process reaches the Aspire dashboard, and one Put is one trace across the replicas.</summary>
[Collection(TopologyCollection.Name)]
public sealed class TelemetryTests(TopologyFixture fixture)
{
    private const int Server = 2;
    private const int Client = 3;
    private const int Producer = 4;

    [Fact]
    public async Task Put_through_the_cli_is_one_trace_with_an_apply_span_on_every_replica()
    {
        var key = $"traced/{Guid.NewGuid():N}";
        var (exitCode, output, error) = await AspireKvCli.RunAsync(fixture, null, "--target", "node1", "put", key, "traced");
        Assert.True(exitCode == 0, error);
        var revision = long.Parse(output[(output.IndexOf("revision ", StringComparison.Ordinal) + 9)..].TrimEnd(')', '\n', '\r'), CultureInfo.InvariantCulture);

        using var dashboard = new DashboardClient(fixture.App);
        var spans = await WaitForTraceAsync(dashboard, revision);

        var seen = string.Join("; ", spans.Select(s => $"{s.Service}/{s.Kind}/{s.Name}"));
        Assert.True(spans.Any(s => s.Service == "aspirekv-cli" && s.Kind == Client), seen);
        Assert.True(spans.Any(s => s.Service == "node1" && s.Kind == Server && s.Name.EndsWith("aspirekv.v1.KeyValue/Put", StringComparison.Ordinal)), seen);
        Assert.True(spans.Any(s => s.Service == "node1" && s.Kind == Producer), seen);
        foreach (var node in new[] { "node1", "node2", "node3" })
        {
            Assert.Contains(spans, s => s.Service == node && s.Name == "aspirekv.apply put");
        }

        Assert.Single(spans.Select(s => s.TraceId).Distinct());
    }

    [Fact]
    public async Task Dashboard_receives_the_nodes_structured_logs()
    {
        using var dashboard = new DashboardClient(fixture.App);
        await fixture.App.CreateKvClient("node2").PutAsync("logs/probe", "1");

        var logs = await Testing.Eventually.ValueAsync(
            dashboard.LogsAsync,
            l => new[] { "node1", "node2", "node3" }.All(n => l.Any(r => r.Service == n && r.Message.Contains("is serving", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(60));

        // The health service's Error line for every probe while a node catches up is not logged, and catching up is said at Information.
        Assert.DoesNotContain(logs, l => l.Category.StartsWith("Microsoft.Extensions.Diagnostics.HealthChecks", StringComparison.Ordinal));
        Assert.All(logs.Where(l => l.Message.Contains("is catching up with the log", StringComparison.Ordinal)), l => Assert.Equal("Information", l.Severity));
    }

    [Fact]
    public async Task Dashboard_refuses_callers_without_the_api_key_and_otlp_without_the_key()
    {
        using var dashboard = new DashboardClient(fixture.App);
        using var anonymous = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        using var api = await anonymous.GetAsync(new Uri(dashboard.Url, "/api/telemetry/traces"));
        using var otlp = await anonymous.PostAsync(new Uri(dashboard.OtlpHttp, "/v1/traces"), new ByteArrayContent([]));

        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, otlp.StatusCode);
        Assert.NotNull(dashboard.BrowserToken);
    }

    private static async Task<IReadOnlyList<DashboardSpan>> WaitForTraceAsync(DashboardClient dashboard, long revision)
    {
        var text = revision.ToString(CultureInfo.InvariantCulture);
        var all = await Testing.Eventually.ValueAsync(
            dashboard.SpansAsync,
            spans => spans.Count(s => s.Name == "aspirekv.apply put" && s.Attributes.GetValueOrDefault("aspirekv.revision") == text) == 3
                && spans.Any(s => s.Service == "aspirekv-cli"),
            TimeSpan.FromSeconds(60),
            spans => $"{spans.Count} spans from {string.Join(", ", spans.Select(s => s.Service).Distinct())}; applies: {string.Join(", ", spans.Where(s => s.Name == "aspirekv.apply put").Select(s => $"{s.Service}@{s.Attributes.GetValueOrDefault("aspirekv.revision")}"))}");
        var traceId = all.First(s => s.Name == "aspirekv.apply put" && s.Attributes.GetValueOrDefault("aspirekv.revision") == text).TraceId;
        return [.. all.Where(s => s.TraceId == traceId)];
    }
}
