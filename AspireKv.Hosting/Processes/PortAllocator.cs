using System.Net;
using System.Net.Sockets;

namespace AspireKv.Hosting.Processes;

/// <summary>
/// Free loopback TCP ports. A port handed out once is not handed out again by this process, so
/// resources started side by side never collide with each other.
/// </summary>
public static class PortAllocator
{
    private static readonly HashSet<int> Given = [];

    public static int Next()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (Given)
            {
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException("Could not find a free loopback port.");
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
}
