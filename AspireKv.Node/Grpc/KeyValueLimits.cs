namespace AspireKv.Node.Grpc;

/// <summary>Input limits, from the <c>Limits</c> configuration section.</summary>
public sealed class KeyValueLimits
{
    public const string SectionName = "Limits";

    /// <summary>The longest key, in UTF-8 bytes.</summary>
    public int MaxKeyBytes { get; set; } = 4096;

    /// <summary>The largest value, in bytes.</summary>
    public int MaxValueBytes { get; set; } = 1024 * 1024;

    /// <summary>The largest gRPC request message, in bytes; larger ones get RESOURCE_EXHAUSTED.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>A List page ends before its keys and values exceed this many bytes.</summary>
    public int MaxListPageBytes { get; set; } = 3 * 1024 * 1024;
}
