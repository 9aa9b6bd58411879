using System.Globalization;

namespace AspireKv.Cli.Coordination;

/// <summary>Lease ids as etcdctl shows and takes them: hexadecimal.</summary>
internal static class LeaseIds
{
    public static string Format(long id) => id.ToString("x16", CultureInfo.InvariantCulture);

    public static long Parse(string text, string what = "lease id")
    {
        var hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        return long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id) && id > 0
            ? id
            : throw new CliException(ExitCodes.Usage, $"{what} '{text}' is not a lease id; lease ids are hexadecimal, as 'lease grant' prints them (for example 694d7a8f9ff64e0a).");
    }
}
