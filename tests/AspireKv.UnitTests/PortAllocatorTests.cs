using AspireKv.Hosting;
using AspireKv.Testing;

namespace AspireKv.UnitTests;

/// <summary>
/// Ports for private brokers, epmd and nodes. A port from the kernel's ephemeral range can be
/// taken as the local port of any outgoing connection on the machine between being chosen and
/// being listened on (a CI run lost its whole robustness suite to an epmd that could not bind),
/// and one that another process chose the same way is as good as taken (an AppHost's epmd found
/// its port in use while other suites ran).
/// </summary>
public sealed class PortAllocatorTests
{
    [Fact]
    public void Ports_come_from_outside_the_ephemeral_range_and_are_never_handed_out_twice()
    {
        var (low, high) = EphemeralRange();
        var ports = Enumerable.Range(0, 200).Select(_ => PortAllocator.Next()).ToList();

        Assert.All(ports, p => Assert.False(p >= low && p <= high, $"port {p} is in the ephemeral range {low}-{high}"));
        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports.Take(5), p => Assert.True(PortAllocator.IsFree(p)));
    }

    [Fact]
    public void A_port_another_process_has_claimed_is_not_handed_out()
    {
        // Another process that allocates the same way claims a port by binding its reservation name.
        var port = Enumerable.Range(20_000, 5_000).First(p => PortAllocator.IsFree(p) && PortAllocator.Reserve(p));
        Assert.False(PortAllocator.Reserve(port));

        using var other = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        var claimedElsewhere = Enumerable.Range(25_000, 5_000).First(p => PortAllocator.IsFree(p) && TryBind(other, PortAllocator.ReservationName(p)));
        Assert.False(PortAllocator.Reserve(claimedElsewhere));
    }

    /// <summary>Binds the name as another process would; false when something already holds it (suites run side by side).</summary>
    private static bool TryBind(System.Net.Sockets.Socket socket, string name)
    {
        try
        {
            socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(name));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static (int Low, int High) EphemeralRange()
    {
        const string file = "/proc/sys/net/ipv4/ip_local_port_range";
        Assert.True(File.Exists(file), $"This test reads the kernel's ephemeral port range from {file} (Linux).");
        var parts = File.ReadAllText(file).Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void A_stored_broker_port_that_another_process_has_claimed_is_replaced()
    {
        // CI lost a test fixture's epmd to an AppHost whose broker reused its stored epmd port:
        // free to bind, but claimed a moment before by the fixture, which had not listened on it yet.
        var claimedElsewhere = Enumerable.Range(20_000, 5_000).First(p => PortAllocator.IsFree(p) && PortAllocator.Reserve(p));
        var kept = PortAllocator.Next();
        using var folder = new TempDirectory("aspirekv-broker-state");
        File.WriteAllLines(Path.Combine(folder.Path, "broker.state"),
        [
            "node=aspirekv-test@localhost",
            $"amqp={claimedElsewhere}",
            $"management={PortAllocator.Next()}",
            $"dist={PortAllocator.Next()}",
            $"epmd={PortAllocator.Next()}",
            "password=secret",
        ]);

        var broker = new RabbitMqServer("messaging", folder.Path);

        Assert.NotEqual(claimedElsewhere, broker.AmqpPort);
        Assert.Equal("secret", broker.Password); // the rest of its identity is kept
        Assert.True(PortAllocator.Claim(kept) is false, "a port this process handed out is not claimed again as a stored one");
    }
}
