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
    /// <summary>The most compares, or operations in one branch, a transaction may have (etcd's default).</summary>
    public const int MaxTxnOperations = 128;

    /// <summary>The longest lease, as etcd has it.</summary>
    public const long MaxLeaseTtlSeconds = 9_000_000_000;

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

    /// <summary>A revision to read at: 0 (now) or a positive revision.</summary>
    public void Revision(long revision, string field = "revision")
    {
        if (revision < 0)
        {
            throw Invalid($"{field} is {revision}; it must be 0 (now) or a revision the store has reached.");
        }
    }

    public void LeaseId(long lease, string field = "lease")
    {
        if (lease < 0)
        {
            throw Invalid($"{field} is {lease}; lease ids are above 0 (and 0 means no lease).");
        }
    }

    public void Ttl(long ttlSeconds)
    {
        if (ttlSeconds is < 1 or > MaxLeaseTtlSeconds)
        {
            throw Invalid($"ttl_seconds is {ttlSeconds}; a lease lives from 1 to {MaxLeaseTtlSeconds} seconds.");
        }
    }

    /// <summary>A transaction's size, and that no two of its writes touch the same key (which would make their order matter within one revision).</summary>
    public void Txn(V1.TxnRequest txn)
    {
        if (txn.Compares.Count > MaxTxnOperations || txn.Success.Count > MaxTxnOperations || txn.Failure.Count > MaxTxnOperations)
        {
            throw Invalid($"the transaction has {txn.Compares.Count} compares, {txn.Success.Count} success and {txn.Failure.Count} failure operations; each may be at most {MaxTxnOperations}.");
        }

        foreach (var compare in txn.Compares)
        {
            Key(compare.Key, "compare key");
            if (compare.Result is not (V1.Compare.Types.Result.Equal or V1.Compare.Types.Result.NotEqual or V1.Compare.Types.Result.Greater or V1.Compare.Types.Result.Less))
            {
                throw Invalid($"compare result {(int)compare.Result} is not known; use EQUAL, NOT_EQUAL, GREATER or LESS.");
            }

            if (compare.TargetCase == V1.Compare.TargetOneofCase.None)
            {
                throw Invalid($"the compare on '{compare.Key}' names no target; set one of value, version, create_revision, mod_revision or lease.");
            }
        }

        foreach (var branch in new[] { txn.Success, txn.Failure })
        {
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var op in branch)
            {
                var key = op.RequestCase switch
                {
                    V1.RequestOp.RequestOneofCase.Put => op.Put.Key,
                    V1.RequestOp.RequestOneofCase.Delete => op.Delete.Key,
                    V1.RequestOp.RequestOneofCase.None => throw Invalid("a transaction operation names no request; set one of put, delete, get or list."),
                    _ => null,
                };
                if (key is not null && !written.Add(key))
                {
                    throw Invalid($"key '{key}' is written twice in one branch of the transaction; write each key at most once.");
                }
            }
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
