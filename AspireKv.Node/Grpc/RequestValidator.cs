using System.Text;
using AspireKv.V1;
using Grpc.Core;

namespace AspireKv.Node.Grpc;

/// <summary>
/// Checks requests against the limits. A bad request becomes INVALID_ARGUMENT with a message that
/// says what was wrong and what is allowed; nothing is proposed in that case.
/// </summary>
public sealed class RequestValidator(KeyValueLimits limits)
{
    public void Key(string key, string field = "key")
    {
        if (key.Length == 0)
        {
            throw Invalid($"{field} is empty; a key is 1 to {limits.MaxKeyBytes} bytes of UTF-8.");
        }

        var bytes = Encoding.UTF8.GetByteCount(key);
        if (bytes > limits.MaxKeyBytes)
        {
            throw Invalid($"{field} is {bytes} bytes of UTF-8; the limit is {limits.MaxKeyBytes} bytes.");
        }
    }

    public void Prefix(string prefix)
    {
        var bytes = Encoding.UTF8.GetByteCount(prefix);
        if (bytes > limits.MaxKeyBytes)
        {
            throw Invalid($"prefix is {bytes} bytes of UTF-8; the limit is {limits.MaxKeyBytes} bytes, as for keys.");
        }
    }

    public void Value(int length)
    {
        if (length > limits.MaxValueBytes)
        {
            throw Invalid($"value is {length} bytes; the limit is {limits.MaxValueBytes} bytes.");
        }
    }

    public void ExpectedModRevision(long expected)
    {
        if (expected < 0)
        {
            throw Invalid($"expected_mod_revision is {expected}; it must be 0 (the key must not exist) or the key's mod_revision.");
        }
    }

    public void Consistency(Consistency consistency)
    {
        if (consistency is not (V1.Consistency.Linearizable or V1.Consistency.Serializable))
        {
            throw Invalid($"consistency {(int)consistency} is not known; use CONSISTENCY_LINEARIZABLE (0) or CONSISTENCY_SERIALIZABLE (1).");
        }
    }

    public void Limit(int limit)
    {
        if (limit < 0)
        {
            throw Invalid($"limit is {limit}; it must be 0 (no count limit) or more.");
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
