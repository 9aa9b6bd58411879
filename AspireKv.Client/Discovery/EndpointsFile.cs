using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;

namespace AspireKv.Client.Discovery;

/// <summary>
/// <c>.aspirekv/endpoints.json</c>: what a running AppHost publishes so that a CLI in another
/// terminal can reach <c>node2</c> by name. The AppHost writes it when the topology is up and
/// removes it when it stops.
/// </summary>
public sealed class EndpointsFile
{
    public const string FolderName = ".aspirekv";
    public const string FileName = "endpoints.json";

    /// <summary>The variable that names the file to use, instead of searching for it.</summary>
    public const string EnvironmentVariable = "ASPIREKV_ENDPOINTS";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The pid of the AppHost that wrote the file.</summary>
    public int AppHostPid { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    /// <summary>The dashboard's address, when the AppHost serves one.</summary>
    public string? Dashboard { get; set; }

    /// <summary>Where the dashboard takes OTLP/HTTP telemetry, so that a CLI can send its spans there too.</summary>
    public string? Otlp { get; set; }

    /// <summary>The protocol <see cref="Otlp"/> speaks: <c>http/protobuf</c> (when null) or <c>grpc</c>.</summary>
    public string? OtlpProtocol { get; set; }

    /// <summary>The <c>OTEL_EXPORTER_OTLP_HEADERS</c> value that goes with <see cref="Otlp"/>.</summary>
    public string? OtlpHeaders { get; set; }

    /// <summary>Resources by name, each with its endpoints by name.</summary>
    public SortedDictionary<string, ResourceEntry> Resources { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The file to use: <c>ASPIREKV_ENDPOINTS</c> when set, otherwise the first
    /// <c>.aspirekv/endpoints.json</c> in <paramref name="startFolder"/> or one of its parents.
    /// </summary>
    public static string? Locate(string startFolder, Func<string, string?>? environment = null)
    {
        var overridden = (environment ?? Environment.GetEnvironmentVariable)(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return Path.GetFullPath(overridden);
        }

        for (var folder = new DirectoryInfo(Path.GetFullPath(startFolder)); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, FolderName, FileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static EndpointsFile Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<EndpointsFile>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a valid endpoints file: {ex.Message}", ex);
        }
    }

    /// <summary>Writes the file atomically, so that a reader never sees half of it.</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// The file as .NET Aspire's configuration contract: every endpoint as
    /// <c>services:{resource}:{endpoint}:0</c> (what service discovery reads), and every broker's
    /// connection string as <c>ConnectionStrings:{resource}</c>.
    /// </summary>
    public Dictionary<string, string?> ToConfiguration()
    {
        var configuration = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, resource) in Resources)
        {
            foreach (var (endpoint, address) in resource.Endpoints)
            {
                configuration[$"services:{name}:{endpoint}:0"] = address;
            }

            if (resource.ConnectionString is { } connectionString)
            {
                configuration[$"ConnectionStrings:{name}"] = connectionString;
            }
        }

        return configuration;
    }

    /// <summary>One resource: what it is, and its endpoints by name.</summary>
    public sealed class ResourceEntry
    {
        public string Type { get; set; } = string.Empty;

        public SortedDictionary<string, string> Endpoints { get; set; } = new(StringComparer.Ordinal);

        /// <summary>For a broker: its AMQP URI with credentials (the file is local and for development).</summary>
        public string? ConnectionString { get; set; }
    }
}

/// <summary>Reads a running AppHost's endpoints file into configuration.</summary>
public static class EndpointsFileConfigurationExtensions
{
    /// <summary>
    /// Adds the endpoints of the AppHost whose <c>.aspirekv/endpoints.json</c> is at
    /// <paramref name="path"/>, as Aspire's <c>services:</c> and <c>ConnectionStrings:</c>
    /// configuration, so that service discovery resolves <c>http://_grpc.node2</c> from it.
    /// </summary>
    public static IConfigurationBuilder AddEndpointsFile(this IConfigurationBuilder builder, string path) =>
        builder.AddInMemoryCollection(EndpointsFile.Load(path).ToConfiguration());
}
