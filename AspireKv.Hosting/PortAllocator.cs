using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace AspireKv.Hosting;

/// <summary>
/// Free loopback ports, picked at random below the kernel's ephemeral range (outgoing connections
/// take ports from that range), never handed out twice, and on Linux reserved for this process's
/// life under an abstract Unix socket name, so that AppHosts and test suites side by side never
/// pick the same one before it is listened on.
/// </summary>
public static class PortAllocator
{
    private const int Lowest = 10_000;
    private static readonly HashSet<int> Given = [];
    private static readonly List<Socket> Reservations = [];
    private static readonly (int Low, int High) Range = ChooseRange();

    public static int Next()
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Random.Shared.Next(Range.Low, Range.High);
            if (Claim(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"Could not find a free loopback port between {Range.Low} and {Range.High}.");
    }

    /// <summary>
    /// Takes <paramref name="port"/>, as <see cref="Next"/> takes the ports it picks; for a port
    /// chosen elsewhere, such as one a broker stored from an earlier run. True when this process
    /// has not handed it out yet, it can be listened on, and no other process has claimed it: being
    /// free is not enough, since another process may have claimed it a moment ago and not listen
    /// on it yet.
    /// </summary>
    public static bool Claim(int port)
    {
        lock (Given)
        {
            if (Given.Contains(port) || !IsFree(port) || !Reserve(port))
            {
                return false;
            }

            Given.Add(port);
            return true;
        }
    }

    /// <summary>Whether <paramref name="port"/> can be listened on at loopback now.</summary>
    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Claims <paramref name="port"/> for this process's life; false when another process has claimed it.</summary>
    internal static bool Reserve(int port)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(ReservationName(port)));
            lock (Reservations)
            {
                Reservations.Add(socket);
            }

            return true;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return false;
        }
    }

    /// <summary>The abstract socket name (a leading NUL: nothing on disk) that claims <paramref name="port"/>.</summary>
    internal static string ReservationName(int port) => $"\0aspirekv-port-{port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>From 10000 up to the start of the ephemeral range (Linux's is 32768-60999 by default).</summary>
    private static (int Low, int High) ChooseRange()
    {
        const string Range = "/proc/sys/net/ipv4/ip_local_port_range";
        var low = File.Exists(Range) && int.TryParse(File.ReadAllText(Range).Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture, out var first) ? first : 32_768;
        return low - Lowest >= 2_000 ? (Lowest, low) : (1_024, Math.Max(low, 2_048));
    }
}
