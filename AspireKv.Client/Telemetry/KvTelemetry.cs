namespace AspireKv.Client.Telemetry;

/// <summary>The ActivitySources and Meters an AspireKv process listens to and exports.</summary>
public static class KvTelemetry
{
    /// <summary>AspireKv's own sources, plus what ASP.NET Core, HttpClient and RabbitMQ.Client 7 already emit.</summary>
    public static readonly string[] ActivitySources = ["AspireKv.*", "Microsoft.AspNetCore", "System.Net.Http", "RabbitMQ.Client.*"];

    /// <summary>AspireKv's own meters, plus hosting, Kestrel, HttpClient and the runtime's built-in meters.</summary>
    public static readonly string[] Meters =
        ["AspireKv.*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "System.Runtime", "RabbitMQ.Client.*"];
}
