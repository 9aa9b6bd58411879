using System.Globalization;

namespace AspireKv.Hosting.RabbitMQ;

/// <summary>A broker's or a cluster's identity file: <c>key=value</c> lines, kept so that a restart reuses the same names, ports and secrets.</summary>
internal static class StateFile
{
    /// <summary>The file's values; none when it does not exist yet.</summary>
    public static Dictionary<string, string> Read(string path) =>
        File.Exists(path)
            ? File.ReadAllLines(path).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1])
            : [];

    /// <summary>The port kept under <paramref name="key"/> while it is free and nobody else has claimed it; otherwise a new one.</summary>
    public static int KeptPort(Dictionary<string, string> values, string key) =>
        values.TryGetValue(key, out var text) && int.TryParse(text, CultureInfo.InvariantCulture, out var port) && PortAllocator.Claim(port)
            ? port
            : PortAllocator.Next();

    /// <summary>Writes <paramref name="lines"/>; a <paramref name="secret"/> file is readable by its owner alone.</summary>
    public static void Write(string path, IEnumerable<string> lines, bool secret = false)
    {
        File.WriteAllLines(path, lines);
        if (secret && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
