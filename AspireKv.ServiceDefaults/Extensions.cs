using AspireKv.Client.Discovery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

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
        builder.AddDefaultEndpoints();
        builder.AddDefaultHealthChecks();
        builder.AddServiceDiscovery();
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
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = WriteReportAsync });
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });
        return app;
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
