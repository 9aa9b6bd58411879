namespace AspireKv.Streams;

/// <summary>Where and how a <see cref="StreamConnection"/> connects.</summary>
public sealed record StreamConnectionOptions
{
    public required string Host { get; init; }

    /// <summary>The broker's stream port (5552 unless configured).</summary>
    public int Port { get; init; } = 5552;

    public string User { get; init; } = "guest";

    public string Password { get; init; } = "guest";

    public string VirtualHost { get; init; } = "/";

    /// <summary>Shown in the management UI as the connection's name.</summary>
    public string ClientName { get; init; } = "aspirekv";

    /// <summary>
    /// Asked of the broker in Tune. Both sides send a heartbeat when idle; a connection from which
    /// nothing has come for three of these is given up (a silent partition, or a broker that stopped).
    /// </summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>TCP connect and the whole handshake together.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a request waits for its response.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many bytes may wait to be sent; a publish past that is refused rather than queued without bound.</summary>
    public int MaxPendingBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>host:port, for messages.</summary>
    public string Endpoint => $"{Host}:{Port}";

    /// <summary>Parses <c>host:port</c> (the port defaults to 5552) into options with the given credentials.</summary>
    public static StreamConnectionOptions Parse(string endpoint, string user = "guest", string password = "guest")
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon < 0)
        {
            return new StreamConnectionOptions { Host = endpoint, User = user, Password = password };
        }

        if (!int.TryParse(endpoint.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
        {
            throw new FormatException($"'{endpoint}' is not host:port: the port must be a number from 1 to 65535");
        }

        return new StreamConnectionOptions { Host = endpoint[..colon], Port = port, User = user, Password = password };
    }
}
