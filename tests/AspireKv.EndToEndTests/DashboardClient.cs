using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AspireKv.EndToEndTests;

/// <summary>One span as the Aspire dashboard's telemetry API gives it, with the service that sent it.</summary>
public sealed record DashboardSpan(string Service, string TraceId, string SpanId, string? ParentSpanId, string Name, int Kind, IReadOnlyDictionary<string, string> Attributes, int StatusCode);

/// <summary>One structured log record from the Aspire dashboard's telemetry API.</summary>
public sealed record DashboardLog(string Service, string Severity, string Message, string Category);

/// <summary>
/// The Aspire dashboard of a test's AppHost: its address, the browser token of its login link, and
/// its telemetry HTTP API (<c>/api/telemetry/...</c>, OTLP JSON), signed with the AppHost's
/// dashboard API key as the Aspire CLI signs it.
/// </summary>
public sealed class DashboardClient : IDisposable
{
    private readonly HttpClient _http;

    public DashboardClient(AspireKvApp app)
    {
        var configuration = app.Application.Services.GetRequiredService<IConfiguration>();
        Url = app.GetEndpoint("aspire-dashboard", "http");
        BrowserToken = configuration["AppHost:BrowserToken"];
        OtlpHttp = app.GetEndpoint("aspire-dashboard", "otlp-http");
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, CookieContainer = new CookieContainer() }) { BaseAddress = Url };
        if (configuration["AppHost:DashboardApiKey"] is { Length: > 0 } key)
        {
            _http.DefaultRequestHeaders.Add("x-api-key", key);
        }
    }

    public Uri Url { get; }

    public string? BrowserToken { get; }

    public Uri OtlpHttp { get; }

    public Uri LoginUrl => new(Url, $"/login?t={BrowserToken}");

    /// <summary>Every span the dashboard holds, flattened out of OTLP's resource and scope groups.</summary>
    public async Task<IReadOnlyList<DashboardSpan>> SpansAsync()
    {
        var spans = new List<DashboardSpan>();
        foreach (var resource in (await GetAsync("/api/telemetry/traces")).GetProperty("data").GetProperty("resourceSpans").EnumerateArray())
        {
            var service = ServiceOf(resource);
            foreach (var scope in resource.GetProperty("scopeSpans").EnumerateArray())
            {
                foreach (var span in scope.GetProperty("spans").EnumerateArray())
                {
                    spans.Add(new DashboardSpan(
                        service,
                        span.GetProperty("traceId").GetString()!,
                        span.GetProperty("spanId").GetString()!,
                        span.TryGetProperty("parentSpanId", out var parent) ? parent.GetString() : null,
                        span.GetProperty("name").GetString()!,
                        span.TryGetProperty("kind", out var kind) ? kind.GetInt32() : 0,
                        Attributes(span),
                        span.TryGetProperty("status", out var status) && status.TryGetProperty("code", out var code) ? code.GetInt32() : 0));
                }
            }
        }

        return spans;
    }

    /// <summary>Every structured log record the dashboard holds.</summary>
    public async Task<IReadOnlyList<DashboardLog>> LogsAsync()
    {
        var logs = new List<DashboardLog>();
        foreach (var resource in (await GetAsync("/api/telemetry/logs")).GetProperty("data").GetProperty("resourceLogs").EnumerateArray())
        {
            var service = ServiceOf(resource);
            foreach (var scope in resource.GetProperty("scopeLogs").EnumerateArray())
            {
                var category = scope.TryGetProperty("scope", out var s) && s.TryGetProperty("name", out var n) ? n.GetString() ?? string.Empty : string.Empty;
                foreach (var record in scope.GetProperty("logRecords").EnumerateArray())
                {
                    var body = record.TryGetProperty("body", out var b) && b.TryGetProperty("stringValue", out var text) ? text.GetString() ?? string.Empty : string.Empty;
                    logs.Add(new DashboardLog(service, record.TryGetProperty("severityText", out var severity) ? severity.GetString() ?? string.Empty : string.Empty, body, category));
                }
            }
        }

        return logs;
    }

    public async Task<JsonElement> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string ServiceOf(JsonElement resource) =>
        resource.TryGetProperty("resource", out var r) && r.TryGetProperty("attributes", out var attributes)
            ? attributes.EnumerateArray().Where(a => a.GetProperty("key").GetString() == "service.name").Select(a => a.GetProperty("value").GetProperty("stringValue").GetString()).FirstOrDefault() ?? string.Empty
            : string.Empty;

    private static Dictionary<string, string> Attributes(JsonElement element) =>
        element.TryGetProperty("attributes", out var attributes)
            ? attributes.EnumerateArray().ToDictionary(a => a.GetProperty("key").GetString()!, a => a.GetProperty("value").EnumerateObject().FirstOrDefault().Value.ToString())
            : [];

    public void Dispose() => _http.Dispose();
}
