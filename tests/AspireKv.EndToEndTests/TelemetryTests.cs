using System.Globalization;
using System.Net;
using System.Text.Json;

namespace AspireKv.EndToEndTests;

/// <summary>Telemetry from every process reaches the AppHost's dashboard, and one Put is one trace across the replicas.</summary>
[Collection(TopologyCollection.Name)]
public sealed class TelemetryTests(TopologyFixture fixture)
{
    [Fact]
    public async Task Put_through_the_cli_is_one_trace_with_an_apply_span_on_every_replica()
    {
        var key = $"traced/{Guid.NewGuid():N}";
        var (exitCode, output, error) = await AspireKvCli.RunAsync(fixture, null, "--target", "node1", "put", key, "traced");
        Assert.True(exitCode == 0, error);
        var revision = long.Parse(output[(output.IndexOf("revision ", StringComparison.Ordinal) + 9)..].TrimEnd(')', '\n', '\r'), CultureInfo.InvariantCulture);

        using var dashboard = new DashboardClient(fixture.App.Application.Dashboard!);
        await dashboard.SignInAsync();
        var spans = await WaitForTraceAsync(dashboard, revision);

        var seen = string.Join("; ", spans.Select(s => $"{s.GetProperty("service").GetString()}/{s.GetProperty("kind").GetString()}/{s.GetProperty("name").GetString()}"));
        var services = spans.Select(s => s.GetProperty("service").GetString()).Distinct().ToList();
        Assert.Contains("aspirekv-cli", services);
        Assert.True(spans.Any(s => s.GetProperty("service").GetString() == "aspirekv-cli" && s.GetProperty("kind").GetString() == "client"), seen);
        Assert.True(spans.Any(s => s.GetProperty("service").GetString() == "node1" && s.GetProperty("name").GetString()!.EndsWith("aspirekv.v1.KeyValue/Put", StringComparison.Ordinal) && s.GetProperty("kind").GetString() == "server"), seen);
        Assert.True(spans.Any(s => s.GetProperty("service").GetString() == "node1" && s.GetProperty("kind").GetString() == "producer"), seen);
        foreach (var node in new[] { "node1", "node2", "node3" })
        {
            Assert.Contains(spans, s => s.GetProperty("service").GetString() == node && s.GetProperty("name").GetString() == "aspirekv.apply put");
        }

        Assert.Single(spans.Select(s => s.GetProperty("traceId").GetString()).Distinct());
    }

    [Fact]
    public async Task Dashboard_receives_the_nodes_metrics_and_logs()
    {
        using var dashboard = new DashboardClient(fixture.App.Application.Dashboard!);
        await dashboard.SignInAsync();
        await fixture.App.CreateKvClient("node2").PutAsync("metrics/probe", "1");

        // Metrics are exported every second; wait for the export that follows the Put.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement revisions;
        List<string?> names;
        do
        {
            await Task.Delay(500);
            revisions = await dashboard.GetAsync("/api/metrics?name=aspirekv.applied_revision");
            names = [.. (await dashboard.GetAsync("/api/metrics/names")).EnumerateArray().Select(n => n.GetString())];
        }
        while ((revisions.EnumerateObject().Count() < 3 || !names.Contains("aspirekv.operations")) && DateTime.UtcNow < deadline);

        Assert.Equal(["node1", "node2", "node3"], revisions.EnumerateObject().Select(p => p.Name).Order());
        Assert.Contains("aspirekv.operations", names);
        Assert.Contains("aspirekv.proposals", names);
        Assert.Contains("kestrel.active_connections", names);
        var logs = await dashboard.GetAsync("/api/logs");
        Assert.Contains(logs.EnumerateArray(), l => l.GetProperty("message").GetString()!.Contains("is serving", StringComparison.Ordinal));

        // A node catching up says so once, at Information; the health service's Error line for every probe meanwhile is not logged.
        Assert.DoesNotContain(logs.EnumerateArray(), l => l.GetProperty("category").GetString()!.StartsWith("Microsoft.Extensions.Diagnostics.HealthChecks", StringComparison.Ordinal));
        Assert.All(
            logs.EnumerateArray().Where(l => l.GetProperty("message").GetString()!.Contains("is catching up with the log", StringComparison.Ordinal)),
            l => Assert.Equal("Information", l.GetProperty("severity").GetString()));
    }

    [Fact]
    public async Task Dashboard_refuses_callers_without_the_token_and_otlp_without_the_key()
    {
        var server = fixture.App.Application.Dashboard!;
        using var anonymous = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        using var page = await anonymous.GetAsync(new Uri(server.Url, "/api/resources"));
        using var wrongToken = await anonymous.GetAsync(new Uri(server.Url, "/login?t=not-the-token"));
        using var otlp = await anonymous.PostAsync(new Uri(server.OtlpEndpoint, "/v1/traces"), new ByteArrayContent([]));

        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongToken.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, otlp.StatusCode);
        Assert.Equal(IPAddress.Loopback.ToString(), server.OtlpEndpoint.Host);
    }

    private static async Task<List<JsonElement>> WaitForTraceAsync(DashboardClient dashboard, long revision)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var seen = "nothing yet";
        while (DateTime.UtcNow < deadline)
        {
            foreach (var trace in (await dashboard.GetAsync("/api/traces")).EnumerateArray().Where(t => t.GetProperty("root").GetString()!.StartsWith("aspirekv-cli", StringComparison.Ordinal)))
            {
                var spans = (await dashboard.GetAsync($"/api/traces/{trace.GetProperty("traceId").GetString()}")).EnumerateArray().ToList();
                var applies = spans.Where(s => s.GetProperty("name").GetString() == "aspirekv.apply put"
                    && s.GetProperty("attributes").TryGetProperty("aspirekv.revision", out var r) && r.GetString() == revision.ToString(CultureInfo.InvariantCulture)).ToList();
                if (applies.Count > 0)
                {
                    seen = $"{spans.Count} spans from {string.Join(", ", spans.Select(s => s.GetProperty("service").GetString()).Distinct())}";
                    if (applies.Count == 3)
                    {
                        return spans;
                    }
                }
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"No trace with an apply span of revision {revision} on all three nodes reached the dashboard; saw {seen}.");
    }
}
