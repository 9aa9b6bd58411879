using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using AspireKv.Hosting.AppModel;
using AspireKv.Hosting.Dashboard.Otlp;
using AspireKv.Hosting.Processes;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Resource = AspireKv.Hosting.AppModel.Resource;

namespace AspireKv.Hosting.Dashboard;

/// <summary>
/// The AppHost's dashboard, standing in for the Aspire dashboard: resources with their state,
/// endpoints and controls, each resource's console log, structured logs, traces with a
/// waterfall, metrics, and a key browser. It serves on loopback only, behind a login token printed at start,
/// and receives OTLP/HTTP (protobuf) on a port of its own, behind an API key the AppHost gives
/// the nodes.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    public const string CookieName = "aspirekv-dashboard";
    public const string ApiKeyHeader = "x-otlp-api-key";
    private const string CsrfHeader = "x-aspirekv-dashboard";
    private const long MaxOtlpBody = 16 * 1024 * 1024;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly DistributedApplication _app;
    private readonly NodeClients _clients = new();
    private readonly KeyBrowser _keys;
    private readonly ReplicationView _replication;
    private readonly int _port;
    private readonly int _otlpPort;
    private WebApplication? _web;

    /// <param name="app">The application it shows.</param>
    /// <param name="port">A port the user chose (0: any), which must be free; null: 18888, or another port when that one is taken.</param>
    public DashboardServer(DistributedApplication app, int? port)
    {
        _app = app;
        _keys = new KeyBrowser(app, _clients);
        _replication = new ReplicationView(app, _clients);
        _port = port switch
        {
            null => PortAllocator.IsFree(DefaultPort) ? DefaultPort : PortAllocator.Next(),
            0 => PortAllocator.Next(),
            var chosen when PortAllocator.IsFree(chosen.Value) => chosen.Value,
            var chosen => throw new InvalidOperationException(
                $"The dashboard cannot listen on port {chosen} (--dashboard-port): another program uses it. Choose another port, or leave the option out and the AppHost picks a free one."),
        };
        _otlpPort = PortAllocator.Next();
        Token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        OtlpApiKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    }

    /// <summary>The dashboard's port when none is chosen, as Aspire's.</summary>
    public const int DefaultPort = 18888;

    public TelemetryStore Telemetry { get; } = new();

    /// <summary>The login token; the login link carries it once, then a cookie does.</summary>
    public string Token { get; }

    public string OtlpApiKey { get; }

    public Uri Url => new($"http://localhost:{_port}/");

    public Uri LoginUrl => new(Url, $"login?t={Token}");

    /// <summary>Where OTLP/HTTP exporters send to; the signal paths (/v1/traces, ...) follow it.</summary>
    public Uri OtlpEndpoint => new($"http://127.0.0.1:{_otlpPort}");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, _port, o => o.Protocols = HttpProtocols.Http1AndHttp2);
            if (System.Net.Sockets.Socket.OSSupportsIPv6)
            {
                kestrel.Listen(IPAddress.IPv6Loopback, _port, o => o.Protocols = HttpProtocols.Http1AndHttp2);
            }

            kestrel.Listen(IPAddress.Loopback, _otlpPort, o => o.Protocols = HttpProtocols.Http1AndHttp2);
            kestrel.Limits.MaxRequestBodySize = MaxOtlpBody;
        });
        builder.Services.AddRouting();
        var web = builder.Build();

        web.Use(async (context, next) =>
        {
            if (context.Connection.LocalPort == _otlpPort)
            {
                await ReceiveOtlpAsync(context).ConfigureAwait(false);
                return;
            }

            if (context.Request.Path == "/login" || IsSignedIn(context))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync(
                "<!doctype html><title>AspireKv dashboard</title><h1>Sign in</h1><p>Open the dashboard with the login link the AppHost printed when it started " +
                "(<code>http://localhost:PORT/login?t=TOKEN</code>).</p>").ConfigureAwait(false);
        });

        web.MapGet("/login", (HttpContext context, string? t) =>
        {
            if (t is null || !CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(t), System.Text.Encoding.ASCII.GetBytes(Token)))
            {
                return Results.Text("That login token is not this dashboard's. Use the link the AppHost printed.", statusCode: StatusCodes.Status401Unauthorized);
            }

            context.Response.Cookies.Append(CookieName, Token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, IsEssential = true });
            return Results.Redirect("/");
        });
        web.MapGet("/", () => Asset("index.html"));
        web.MapGet("/assets/{name}", (string name) => Asset(name));
        MapApi(web);

        await web.StartAsync(cancellationToken).ConfigureAwait(false);
        _web = web;
    }

    public async ValueTask DisposeAsync()
    {
        if (_web is not null)
        {
            await _web.DisposeAsync().ConfigureAwait(false);
            _web = null;
        }

        _clients.Dispose();
    }

    private bool IsSignedIn(HttpContext context) =>
        context.Request.Cookies.TryGetValue(CookieName, out var cookie) && cookie == Token;

    private void MapApi(WebApplication web)
    {
        web.MapGet("/api/resources", () => Results.Json(_app.Resources.Select(DescribeResource), Json));
        web.MapPost("/api/resources/{name}/{action}", (HttpContext context, string name, string action) =>
        {
            if (RefuseCrossSite(context) is { } refused)
            {
                return refused;
            }

            Resource resource;
            try
            {
                resource = _app.GetResource(name);
            }
            catch (ArgumentException ex)
            {
                return Results.NotFound(new { error = ex.Message });
            }

            Func<Task>? work = action switch
            {
                "start" => () => _app.StartResourceAsync(name),
                "stop" => () => _app.StopResourceAsync(name),
                "restart" => () => _app.RestartResourceAsync(name),
                "kill" => () => _app.KillResourceAsync(name),
                "pause" => () => _app.PauseResourceAsync(name),
                "resume" => () => _app.ResumeResourceAsync(name),
                "remove" => () => _app.RemoveNodeAsync(name),
                _ => null,
            };
            if (work is null || !resource.IsManaged)
            {
                return Results.BadRequest(new { error = resource.IsManaged ? $"'{action}' is not an action; use start, stop, restart, kill, pause, resume or remove (nodes)." : $"{name} is not managed by the AppHost." });
            }

            // The API allows what the dashboard's buttons offer in this state, nothing more.
            if (!AllowedActions(_app, resource).Contains(action))
            {
                return Results.Conflict(new { error = $"{name} is {resource.State}: {action} is not possible now (possible: {string.Join(", ", AllowedActions(_app, resource).DefaultIfEmpty("nothing until it settles"))})." });
            }

            RunInBackground(work, () => resource, action);
            return Results.Accepted(value: new { name, action });
        });
        web.MapPost("/api/nodes", (HttpContext context) =>
        {
            if (RefuseCrossSite(context) is { } refused)
            {
                return refused;
            }

            if (!_app.Resources.OfType<NodeResource>().Any())
            {
                return Results.Conflict(new { error = "This application declares no nodes, so there is none to add one like." });
            }

            RunInBackground(() => _app.AddNodeAsync(), () => _app.Resources.OfType<NodeResource>().Last(), "add a node");
            return Results.Accepted(value: new { action = "add a node" });
        });
        web.MapGet("/api/console/{name}", (string name, long? after) =>
        {
            var resource = _app.Resources.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));
            return resource is null
                ? Results.NotFound()
                : Results.Json(resource.Logs.After(after ?? 0).Select(l => new { sequence = l.Sequence, time = l.Line.Time, text = l.Line.Text, isError = l.Line.IsError }), Json);
        });
        web.MapGet("/api/logs", (long? after, string? service) => Results.Json(Telemetry.Logs(after ?? 0, service), Json));
        web.MapGet("/api/traces", (string? service) => Results.Json(Telemetry.Traces(200, service), Json));
        web.MapGet("/api/traces/{traceId}", (string traceId) => Results.Json(Telemetry.Trace(traceId), Json));
        web.MapGet("/api/metrics", (string name) => Results.Json(
            Telemetry.Series(name).ToDictionary(s => s.Key, s => s.Value.Select(p => new[] { p.TimeUnixNano / 1_000_000.0, p.Value })), Json));
        web.MapGet("/api/metrics/names", () => Results.Json(Telemetry.MetricNames(), Json));
        web.MapGet("/api/metrics/list", () => Results.Json(Telemetry.Metrics(), Json));
        web.MapGet("/api/keys", (string? node, string? prefix, CancellationToken ct) => _keys.ListAsync(node, prefix, ct));
        web.MapGet("/api/keys/history", (string? node, string? key, CancellationToken ct) => _keys.HistoryAsync(node, key, ct));
        web.MapGet("/api/replication", async (CancellationToken ct) => Results.Json(await _replication.DescribeAsync(ct).ConfigureAwait(false), Json));
    }

    /// <summary>
    /// A refusal when the request lacks the dashboard's header: a custom header cannot be sent
    /// cross-site without CORS, so a form on another page cannot drive the AppHost. Null otherwise.
    /// </summary>
    private static IResult? RefuseCrossSite(HttpContext context) =>
        context.Request.Headers.ContainsKey(CsrfHeader) ? null : Results.BadRequest(new { error = $"Send the {CsrfHeader} header." });

    /// <summary>Runs what a request asked for after answering it; a failure goes to the log of the resource <paramref name="reporter"/> names then, saying what was asked.</summary>
    private static void RunInBackground(Func<Task> work, Func<Resource> reporter, string action) =>
        _ = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                reporter().LogActionFailed(action, ex);
            }
        });

    private object DescribeResource(Resource resource) => new
    {
        name = resource.Name,
        type = resource.Type,
        state = resource.State.ToString(),
        stateDetail = resource.StateDetail,
        health = resource.Health.ToString(),
        pid = resource.State == ResourceState.Running ? resource.Pid : null,
        startedAt = resource.StartedAt,
        uptimeSeconds = resource.State == ResourceState.Running && resource.StartedAt is { } started ? (DateTimeOffset.UtcNow - started).TotalSeconds : (double?)null,
        restarts = resource.RestartCount,
        managed = resource.IsManaged,
        pausable = resource.CanPause,
        actions = AllowedActions(_app, resource),
        endpoints = resource.Endpoints.ToDictionary(e => e.Key, e => e.Value.ToString().TrimEnd('/')),
    };

    /// <summary>What can be asked of a resource in its present state: start when it is not running, the rest while it runs; resume (or stop, or kill) while it is paused.</summary>
    internal static IReadOnlyList<string> AllowedActions(DistributedApplication app, Resource resource)
    {
        IReadOnlyList<string> actions = !resource.IsManaged ? [] : resource.State switch
        {
            ResourceState.Running when resource.CanPause => ["stop", "restart", "kill", "pause"],
            ResourceState.Running or ResourceState.Starting => ["stop", "restart", "kill"],
            ResourceState.Paused => ["stop", "kill", "resume"],
            ResourceState.NotStarted or ResourceState.Exited or ResourceState.FailedToStart => ["start"],
            _ => [],
        };

        // A node leaves once it has settled (not while it starts or stops), and never the last one.
        return resource.State is not (ResourceState.Starting or ResourceState.Stopping) && app.CanRemove(resource)
            ? [.. actions, "remove"]
            : actions;
    }

    private async Task ReceiveOtlpAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        if (request.Headers[ApiKeyHeader] != OtlpApiKey)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        if (request.ContentType?.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase) != true)
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await context.Response.WriteAsync("OTLP/HTTP with protobuf bodies (application/x-protobuf) only.").ConfigureAwait(false);
            return;
        }

        using var body = new MemoryStream();
        var input = request.Headers.ContentEncoding == "gzip" ? new GZipStream(request.Body, CompressionMode.Decompress) : request.Body;
        await using (input.ConfigureAwait(false))
        {
            await input.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        }

        try
        {
            switch (request.Path.Value)
            {
                case "/v1/traces":
                    Telemetry.Add(ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray()));
                    break;
                case "/v1/logs":
                    Telemetry.Add(ExportLogsServiceRequest.Parser.ParseFrom(body.ToArray()));
                    break;
                case "/v1/metrics":
                    Telemetry.Add(ExportMetricsServiceRequest.Parser.ParseFrom(body.ToArray()));
                    break;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"Not an OTLP export request: {ex.Message}").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/x-protobuf";
        await context.Response.Body.WriteAsync(new ExportResponse().ToByteArray()).ConfigureAwait(false);
    }

    private static IResult Asset(string name)
    {
        var stream = typeof(DashboardServer).Assembly.GetManifestResourceStream("dashboard/" + name);
        if (stream is null)
        {
            return Results.NotFound();
        }

        var type = Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            _ => "application/octet-stream",
        };
        return Results.Stream(stream, type);
    }
}
