using Microsoft.Extensions.Configuration;

namespace AspireKv.Hosting.AppModel;

/// <summary>What resources need from the application when they start.</summary>
public sealed class DistributedApplicationContext
{
    public required IConfiguration Configuration { get; init; }

    /// <summary>The folder where resources keep their state: broker data, node snapshots.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Finds the built output of a project resource by assembly name.</summary>
    public required Func<string, string> ProjectPath { get; init; }

    /// <summary>Every resource, a node added while the application runs included.</summary>
    public required IReadOnlyList<Resource> Resources { get; set; }

    /// <summary>Where nodes send OTLP telemetry; null when nothing collects it.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>The <c>OTEL_EXPORTER_OTLP_HEADERS</c> value that goes with <see cref="OtlpEndpoint"/>.</summary>
    public string? OtlpHeaders { get; set; }
}
