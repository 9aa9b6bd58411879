using System.Security.Cryptography;
using System.Text;
using AspireKv.Node.Commands;
using Google.Protobuf;

namespace AspireKv.Node.Auth;

/// <summary>
/// Passwords as the auth store keeps them: PBKDF2 with HMAC-SHA256, a random 16-byte salt and
/// <see cref="Iterations"/> rounds, computed on the node that takes the call, so that only the
/// hash reaches the log and the snapshots.
/// </summary>
public static class Passwords
{
    /// <summary>Rounds for a new hash (a hash keeps its own count, so a change here leaves stored ones valid).</summary>
    public const int Iterations = 100_000;

    /// <summary>The most rounds a stored hash may ask for: a larger count (from a damaged or hostile entry) is refused rather than computed for minutes.</summary>
    private const int MaxIterations = 10_000_000;

    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public static PasswordHash Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return new PasswordHash
        {
            Iterations = Iterations,
            Salt = ByteString.CopyFrom(salt),
            Hash = ByteString.CopyFrom(Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA256, HashBytes)),
        };
    }

    /// <summary>Whether <paramref name="password"/> is the one <paramref name="hash"/> was made from; false for a hash that is not whole.</summary>
    public static bool Verify(PasswordHash? hash, string password)
    {
        if (hash is null || hash.Iterations is <= 0 or > MaxIterations || hash.Salt.IsEmpty || hash.Hash.Length != HashBytes)
        {
            return false;
        }

        var computed = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), hash.Salt.Span, hash.Iterations, HashAlgorithmName.SHA256, HashBytes);
        return CryptographicOperations.FixedTimeEquals(computed, hash.Hash.Span);
    }
}
