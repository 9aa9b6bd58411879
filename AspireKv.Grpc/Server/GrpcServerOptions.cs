using AspireKv.Grpc.Protocol;

namespace AspireKv.Grpc.Server;

/// <summary>Limits and behaviour of the server side of the runtime.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>The largest request message accepted; larger ones get RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>The largest response message sent; null for no limit.</summary>
    public int? MaxSendMessageSize { get; set; }
}
