using System.Diagnostics;
using AspireKv.Client.Discovery;
using AspireKv.Client.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The defaults every AspireKv service shares: Kestrel endpoints, health checks and service
/// discovery. A service's Program.cs is <c>builder.AddServiceDefaults()</c>, its own
/// registrations, then <c>app.MapDefaultEndpoints()</c>.
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
        builder.AddServiceDiscovery();
        return builder;
    }

    /// <summary>
    /// OpenTelemetry through <c>OpenTelemetrySdk.Create</c> (the hosting extensions are not on this
    /// feed): traces, metrics and logs, exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// is set, by the protocol <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> names (grpc or http/protobuf).
    /// The resource comes from <c>OTEL_SERVICE_NAME</c> and <c>OTEL_RESOURCE_ATTRIBUTES</c>, as an
    /// Aspire AppHost sets them. Without an endpoint nothing listens, and tracing costs nothing.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return builder;
        }

        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : builder.Environment.ApplicationName;
        var sdk = OpenTelemetrySdk.Create(otel => otel
            .ConfigureResource(resource => resource.AddService(serviceName, autoGenerateServiceInstanceId: false))
            .WithTracing(tracing => tracing.AddSource(KvTelemetry.ActivitySources).AddProcessor(new TraceFilter()).AddOtlpExporter())
            .WithMetrics(metrics => metrics.AddMeter(KvTelemetry.Meters).AddOtlpExporter())
            .WithLogging(logging => logging.AddOtlpExporter(), options => options.IncludeFormattedMessage = true));

        // The host's logs reach the OpenTelemetry logger through its logger factory.
        builder.Logging.AddProvider(new ForwardingLoggerProvider(sdk.GetLoggerFactory()));

        builder.Services.AddHostedService(_ => new TelemetryFlush(sdk));
        return builder;
    }

    /// <summary>
    /// The protocols of the two endpoints every AspireKv service has: <c>grpc</c> is HTTP/2 only
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

    /// <summary>Registers <see cref="ServiceEndpoints"/>, which reads Aspire's <c>services__name__endpoint__N</c> configuration.</summary>
    public static TBuilder AddServiceDiscovery<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddSingleton(sp => new ServiceEndpoints(sp.GetRequiredService<IConfiguration>()));
        return builder;
    }

    /// <summary>
    /// <c>/health</c>: every check; 200 when healthy or degraded, 503 otherwise.
    /// <c>/alive</c>: only the liveness checks.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Name ASP.NET Core's request span the way the semantic conventions do, and tag it.
        app.Use(async (context, next) =>
        {
            var activity = context.Features.Get<IHttpActivityFeature>()?.Activity;
            if (activity is { IsAllDataRequested: true })
            {
                activity.DisplayName = $"{context.Request.Method} {context.Request.Path}";
                activity.SetTag("http.request.method", context.Request.Method);
                activity.SetTag("url.path", context.Request.Path.Value);
                activity.SetTag("network.protocol.version", context.Request.Protocol);
            }

            await next(context).ConfigureAwait(false);
            activity?.SetTag("http.response.status_code", context.Response.StatusCode);
        });

        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = WriteReportAsync });
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });
        return app;
    }

    /// <summary>Flushes and shuts the SDK down when the host stops, so the last spans and logs are sent.</summary>
    private sealed class TelemetryFlush(OpenTelemetrySdk sdk) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            sdk.Dispose();
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// Leaves out of the export what would only be noise: health probes (the AppHost asks every
    /// two seconds) and the broker client's per-delivery spans, which start traces of their own;
    /// the <c>aspirekv.apply</c> spans stand for that work inside each write's trace.
    /// </summary>
    private sealed class TraceFilter : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            var path = data.GetTagItem("url.path") as string;
            var isProbe = path is HealthEndpointPath or AlivenessEndpointPath;
            var isDelivery = data.Source.Name == "RabbitMQ.Client.Subscriber" && data.ParentSpanId == default;
            if (isProbe || isDelivery)
            {
                data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            }
        }
    }

    private sealed class ForwardingLoggerProvider(ILoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose()
        {
            // The factory belongs to the SDK, which TelemetryFlush disposes.
        }
    }

    private static Task WriteReportAsync(Microsoft.AspNetCore.Http.HttpContext context, HealthReport report)
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

        return Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(context.Response, string.Join('\n', lines) + "\n");
    }
}
