using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The defaults every service shares, as .NET Aspire's ServiceDefaults template has them:
/// OpenTelemetry, health checks, service discovery and the Kestrel endpoints. A service's
/// Program.cs is <c>builder.AddServiceDefaults()</c>, its own registrations, then
/// <c>app.MapDefaultEndpoints()</c>.
/// </summary>
public static class Extensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";

    /// <summary>The tag of health checks that say the process is alive (as opposed to ready).</summary>
    public const string LiveTag = "live";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultEndpoints();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http => http.AddServiceDiscovery());
        return builder;
    }

    /// <summary>
    /// Logs, metrics and traces through OpenTelemetry's hosting integration: the ASP.NET Core,
    /// HttpClient and runtime instrumentations, and the application's own source. Services add
    /// their other sources and meters with <c>ConfigureOpenTelemetryTracerProvider</c> and
    /// <c>ConfigureOpenTelemetryMeterProvider</c> where they register themselves. Exported over
    /// OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, as an Aspire AppHost sets it.
    /// </summary>
    /// <remarks>
    /// Unlike Aspire's template, nothing is collected when there is no endpoint to export to:
    /// recording every call's span for nobody cost the nodes a fifth of their read throughput
    /// under load (docs/benchmarks.md).
    /// </remarks>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        if (!HasOtlpEndpoint(builder))
        {
            return builder;
        }

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(builder.Environment.ApplicationName))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddAspNetCoreInstrumentation(aspNetCore =>
                    // Health probes (an orchestrator asks every few seconds) would drown the traces.
                    aspNetCore.Filter = context => !IsHealthProbe(context.Request.Path))
                .AddHttpClientInstrumentation());

        builder.Services.AddOpenTelemetry().UseOtlpExporter();
        return builder;
    }

    /// <summary>
    /// The protocols of the two endpoints every service has: <c>grpc</c> is HTTP/2 only
    /// (cleartext gRPC needs prior knowledge) and <c>http</c> is HTTP/1.1 (health). A service's
    /// appsettings.json names their URLs under <c>Kestrel:Endpoints</c>, where an AppHost finds
    /// them and overrides them, for example with <c>Kestrel__Endpoints__grpc__Url=http://*:6001</c>.
    /// </summary>
    public static TBuilder AddDefaultEndpoints<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var defaults = new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:grpc:Protocols"] = "Http2",
                ["Kestrel:Endpoints:http:Protocols"] = "Http1",
            },
        };

        // Lowest precedence: appsettings, environment and command line all win.
        builder.Configuration.Sources.Insert(0, defaults);
        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// <c>/health</c>: every check; 200 when healthy or degraded, 503 otherwise, with the status
    /// and any check that is not healthy in the body. <c>/alive</c>: only the liveness checks.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = WriteReportAsync });
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });
        return app;
    }

    private static bool HasOtlpEndpoint(IHostApplicationBuilder builder) =>
        !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    private static bool IsHealthProbe(PathString path) =>
        path.StartsWithSegments(HealthEndpointPath) || path.StartsWithSegments(AlivenessEndpointPath);

    private static Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var lines = new List<string> { report.Status.ToString() };
        foreach (var (name, entry) in report.Entries)
        {
            if (entry.Status != HealthStatus.Healthy || !string.IsNullOrEmpty(entry.Description))
            {
                lines.Add($"{name}: {entry.Status}{(string.IsNullOrEmpty(entry.Description) ? string.Empty : " - " + entry.Description)}");
            }
        }

        return context.Response.WriteAsync(string.Join('\n', lines) + "\n");
    }
}
