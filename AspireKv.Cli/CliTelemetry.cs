using System.Diagnostics;
using AspireKv.Cli.Targeting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AspireKv.Cli;

/// <summary>
/// Traces a one-shot verb, so that a Put started here shows as one trace from the CLI through
/// the node and the broker to every replica. Spans go where <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// says, or else to the dashboard of the AppHost the CLI found.
/// </summary>
internal static class CliTelemetry
{
    public static readonly ActivitySource Source = new("AspireKv.Cli");

    /// <summary>Starts exporting when there is somewhere to export to; dispose to flush.</summary>
    public static IDisposable? Start(TargetResolver resolver)
    {
        // The standard variables win; otherwise the AppHost's dashboard, from its endpoints file.
        var configured = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 };
        var endpoint = configured ? Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") : resolver.Endpoints?.Otlp;
        if (string.IsNullOrEmpty(endpoint))
        {
            return null;
        }

        var headers = configured ? Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_HEADERS") : resolver.Endpoints?.OtlpHeaders;
        var protocolName = configured ? Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL") : resolver.Endpoints?.OtlpProtocol;
        var protocol = protocolName == "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        return OpenTelemetrySdk.Create(otel => otel
            .ConfigureResource(r => r.AddService(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "aspirekv-cli"))
            .WithTracing(tracing => tracing
                .SetSampler(new AlwaysOnSampler())
                .AddSource("AspireKv.*", "Grpc.Net.Client", "System.Net.Http")
                .AddOtlpExporter(o =>
                {
                    o.Protocol = protocol;
                    o.Endpoint = new Uri(protocol == OtlpExportProtocol.HttpProtobuf ? endpoint.TrimEnd('/') + "/v1/traces" : endpoint);
                    o.Headers = headers;
                    o.ExportProcessorType = ExportProcessorType.Simple;
                })));
    }
}
