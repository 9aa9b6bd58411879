using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;

namespace AspireKv.Grpc.Protocol;

/// <summary>
/// Length-prefixed messages: a 1-byte compressed flag, a 4-byte big-endian length, then the
/// payload. Used for requests on the server and for responses on the client.
/// </summary>
public static class MessageFraming
{
    public const int HeaderSize = 5;

    /// <summary>
    /// Reads the next message, or returns false at a clean end of the body. A truncated frame, a
    /// frame over <paramref name="maxSize"/> or a payload that does not deserialize is an <see cref="RpcException"/>.
    /// </summary>
    public static async ValueTask<(bool HasMessage, T Message)> ReadAsync<T>(
        PipeReader reader, Marshaller<T> marshaller, int maxSize, string? encoding, string what, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryReadHeader(buffer, out var flag, out var length))
            {
                if (flag > 1)
                {
                    reader.AdvanceTo(buffer.Start);
                    throw new RpcException(StatusCode.Internal, $"Malformed {what} frame: the compressed flag is {flag}; only 0 and 1 are allowed.");
                }

                if (length > (uint)maxSize)
                {
                    reader.AdvanceTo(buffer.Start);
                    throw new RpcException(StatusCode.ResourceExhausted, $"The {what} message is {length} bytes, over the limit of {maxSize} bytes.");
                }

                if (buffer.Length >= HeaderSize + length)
                {
                    var payload = buffer.Slice(HeaderSize, length);
                    try
                    {
                        var message = flag == 1
                            ? marshaller.Deserialize(new ReadOnlySequence<byte>(Decompress(payload, encoding, maxSize, what)))
                            : marshaller.Deserialize(payload);
                        return (true, message);
                    }
                    catch (RpcException)
                    {
                        throw;
                    }
                    catch (Exception ex)
                    {
                        throw new RpcException(new Status(StatusCode.Internal, $"The {what} message could not be deserialized: {ex.Message}"), null, ex);
                    }
                    finally
                    {
                        reader.AdvanceTo(payload.End);
                    }
                }
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var remaining = buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (remaining == 0)
                {
                    return (false, default!);
                }

                throw new RpcException(StatusCode.Internal, $"Incomplete {what} message: the body ended inside a frame ({remaining} bytes of a frame were received).");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool TryReadHeader(ReadOnlySequence<byte> buffer, out byte flag, out uint length)
    {
        if (buffer.Length < HeaderSize)
        {
            flag = 0;
            length = 0;
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        flag = header[0];
        length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        return true;
    }

    /// <summary>Writes one uncompressed frame. A message over <paramref name="maxSize"/> is RESOURCE_EXHAUSTED.</summary>
    public static void Write<T>(IBufferWriter<byte> output, Marshaller<T> marshaller, T message, int? maxSize, string what)
    {
        var size = marshaller.CalculateSize(message);
        if (maxSize is { } max && size > max)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"The {what} message is {size} bytes, over the limit of {max} bytes.");
        }

        var header = output.GetSpan(HeaderSize);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)size);
        output.Advance(HeaderSize);
        marshaller.Serialize(message, output);
    }

    private static byte[] Decompress(ReadOnlySequence<byte> payload, string? encoding, int maxSize, string what)
    {
        using var input = new MemoryStream(payload.ToArray());
        using Stream decompressor = encoding?.ToLowerInvariant() switch
        {
            "gzip" => new GZipStream(input, CompressionMode.Decompress),
            "deflate" => new ZLibStream(input, CompressionMode.Decompress),
            null or "" or "identity" => throw new RpcException(StatusCode.Internal, $"The {what} message has the compressed flag set, but no grpc-encoding says how it was compressed."),
            _ => throw new RpcException(StatusCode.Unimplemented, $"The {what} message is compressed with '{encoding}', which is not supported; supported encodings are {GrpcProtocol.SupportedEncodings}."),
        };
        using var output = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = decompressor.Read(chunk)) > 0)
        {
            output.Write(chunk, 0, read);
            if (output.Length > maxSize)
            {
                throw new RpcException(StatusCode.ResourceExhausted, $"The decompressed {what} message is over the limit of {maxSize} bytes.");
            }
        }

        return output.ToArray();
    }
}
