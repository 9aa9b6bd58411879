using System.Net;
using System.Net.Sockets;
using AspireKv.Client;

namespace AspireKv.UnitTests;

/// <summary>The lock's keep-alive loop, against a node that takes the connection and never answers.</summary>
public sealed class KvLockTests
{
    [Fact]
    public async Task Stopping_the_keep_alive_while_a_call_is_in_flight_ends_it_quietly()
    {
        // A listener that accepts connections and never answers: every keep-alive hangs until its
        // deadline, or until the loop is stopped. Found in CI: disposing a KvLock then threw
        // RpcException(Cancelled) out of DisposeAsync.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await silent.AcceptTcpClientAsync());
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        });
        using var client = new KvClient($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}");
        using var stop = new CancellationTokenSource();

        // A 3 s TTL beats every second, and each call may take a second: stop in the middle of the first call.
        var keepAlive = KvLock.KeepAliveAsync(client, lease: 1, TimeSpan.FromSeconds(3), stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await stop.CancelAsync();

        Assert.True(await keepAlive.WaitAsync(TimeSpan.FromSeconds(30)));
        silent.Stop();
        await accepting;
        accepted.ForEach(c => c.Dispose());
    }
}
