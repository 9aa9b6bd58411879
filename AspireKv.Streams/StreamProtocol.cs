namespace AspireKv.Streams;

/// <summary>The command keys of RabbitMQ's stream protocol; a response sets the top bit of its request's key.</summary>
public static class StreamCommand
{
    public const ushort DeclarePublisher = 0x0001;
    public const ushort Publish = 0x0002;
    public const ushort PublishConfirm = 0x0003;
    public const ushort PublishError = 0x0004;
    public const ushort QueryPublisherSequence = 0x0005;
    public const ushort DeletePublisher = 0x0006;
    public const ushort Subscribe = 0x0007;
    public const ushort Deliver = 0x0008;
    public const ushort Credit = 0x0009;
    public const ushort Unsubscribe = 0x000c;
    public const ushort Create = 0x000d;
    public const ushort Delete = 0x000e;
    public const ushort Metadata = 0x000f;
    public const ushort MetadataUpdate = 0x0010;
    public const ushort PeerProperties = 0x0011;
    public const ushort SaslHandshake = 0x0012;
    public const ushort SaslAuthenticate = 0x0013;
    public const ushort Tune = 0x0014;
    public const ushort Open = 0x0015;
    public const ushort Close = 0x0016;
    public const ushort Heartbeat = 0x0017;

    /// <summary>The bit that marks a response.</summary>
    public const ushort ResponseFlag = 0x8000;
}

/// <summary>The response codes of RabbitMQ's stream protocol.</summary>
public enum StreamResponseCode : ushort
{
    Ok = 0x01,
    StreamDoesNotExist = 0x02,
    SubscriptionIdAlreadyExists = 0x03,
    SubscriptionIdDoesNotExist = 0x04,
    StreamAlreadyExists = 0x05,
    StreamNotAvailable = 0x06,
    SaslMechanismNotSupported = 0x07,
    AuthenticationFailure = 0x08,
    SaslError = 0x09,
    SaslChallenge = 0x0a,
    SaslAuthenticationFailureLoopback = 0x0b,
    VirtualHostAccessFailure = 0x0c,
    UnknownFrame = 0x0d,
    FrameTooLarge = 0x0e,
    InternalError = 0x0f,
    AccessRefused = 0x10,
    PreconditionFailed = 0x11,
    PublisherDoesNotExist = 0x12,
}

/// <summary>Where a subscription starts reading a stream.</summary>
public readonly record struct StreamOffset(ushort Type, long Value)
{
    /// <summary>The stream's first chunk.</summary>
    public static StreamOffset First => new(1, 0);

    /// <summary>The stream's last chunk.</summary>
    public static StreamOffset Last => new(2, 0);

    /// <summary>What is written after the subscription starts.</summary>
    public static StreamOffset Next => new(3, 0);

    /// <summary>The chunk that holds <paramref name="offset"/> (the stream's first one when it no longer holds it).</summary>
    public static StreamOffset At(long offset) => new(4, offset);

    internal bool HasValue => Type is 4 or 5;
}

/// <summary>The broker refused a request; <see cref="Code"/> says why.</summary>
public sealed class StreamResponseException(string request, StreamResponseCode code)
    : Exception($"RabbitMQ refused {request}: {Describe(code)}")
{
    public StreamResponseCode Code { get; } = code;

    public static string Describe(StreamResponseCode code) => code switch
    {
        StreamResponseCode.StreamDoesNotExist => "the stream does not exist",
        StreamResponseCode.StreamAlreadyExists => "the stream already exists",
        StreamResponseCode.StreamNotAvailable => "the stream is not available (it has no leader now)",
        StreamResponseCode.AuthenticationFailure => "the user name or password is wrong",
        StreamResponseCode.SaslAuthenticationFailureLoopback => "this user may connect only from the broker's own machine",
        StreamResponseCode.VirtualHostAccessFailure => "the user may not use this virtual host",
        StreamResponseCode.AccessRefused => "access refused",
        StreamResponseCode.PreconditionFailed => "a precondition failed (the stream exists with other arguments)",
        StreamResponseCode.PublisherDoesNotExist => "the publisher does not exist",
        StreamResponseCode.FrameTooLarge => "the frame is larger than the connection allows",
        _ => $"response code 0x{(ushort)code:x2} ({code})",
    };
}

/// <summary>What the broker sent does not follow the protocol (a short frame, a bad length, a chunk that does not parse).</summary>
public sealed class StreamProtocolException(string message) : Exception(message);
