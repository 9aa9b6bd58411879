using System.Security.Cryptography;

namespace AspireKv.Node.Grpc;

/// <summary>Lease ids chosen by the node that receives a grant (not when it is applied: every replica must agree on it).</summary>
public static class LeaseIds
{
    /// <summary>A random positive 63-bit id.</summary>
    public static long New()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return Math.Max(1, BitConverter.ToInt64(bytes) & long.MaxValue);
    }
}
