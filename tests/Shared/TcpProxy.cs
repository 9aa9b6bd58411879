using System.Net;
using System.Net.Sockets;

namespace AspireKv.Testing;

/// <summary>Which way bytes flow through a <see cref="TcpProxy"/>.</summary>
[Flags]
public enum ProxyDirection
{
    None = 0,

    /// <summary>From the client that connected to the proxy to the upstream server.</summary>
    ToUpstream = 1,

    /// <summary>From the upstream server back to the client.</summary>
    ToClient = 2,

    Both = ToUpstream | ToClient,
}

/// <summary>
/// A TCP proxy on loopback that a test owns, between a node and the broker. It forwards bytes
/// both ways until told otherwise: <see cref="Blackhole"/> stops forwarding (in one direction or
/// both) while every socket stays open, as a silent network partition does (no RST, nothing
/// closed; the bytes wait in the sockets' buffers, and flow again after <see cref="Heal"/>, as
/// TCP's retransmissions would deliver them); <see cref="Reset"/> closes every connection
/// abruptly. Connections made while the proxy blackholes are accepted, so a client's connect
/// succeeds and its handshake then hangs, as it would behind a partition.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Connection> _connections = [];
    private readonly Lock _gate = new();
    private ProxyDirection _open = ProxyDirection.Both;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _accepting = Task.CompletedTask;

    public TcpProxy(string name, int upstreamPort)
    {
        Name = name;
        UpstreamPort = upstreamPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(AcceptAsync);
    }

    public string Name { get; }

    public int Port { get; }

    public int UpstreamPort { get; }

    /// <summary>The directions in which bytes flow now.</summary>
    public ProxyDirection Open
    {
        get
        {
            lock (_gate)
            {
                return _open;
            }
        }
    }

    /// <summary>How many connections are open through the proxy now.</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Stops forwarding in <paramref name="direction"/> (both by default); sockets stay open.</summary>
    public void Blackhole(ProxyDirection direction = ProxyDirection.Both) => SetOpen(Open & ~direction);

    /// <summary>Forwards both ways again; what waited in the buffers flows on.</summary>
    public void Heal() => SetOpen(ProxyDirection.Both);

    /// <summary>Closes every connection through the proxy with a TCP reset; new ones are accepted as before.</summary>
    public void Reset()
    {
        List<Connection> connections;
        lock (_gate)
        {
            connections = [.. _connections];
        }

        foreach (var connection in connections)
        {
            connection.Abort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Reset();
        SetOpen(ProxyDirection.Both);
        await _accepting;
        _stopping.Dispose();
    }

    private void SetOpen(ProxyDirection open)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _open = open;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>Waits until bytes may flow in <paramref name="direction"/>.</summary>
    private async Task WaitOpenAsync(ProxyDirection direction, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if ((_open & direction) != 0)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var connection = new Connection(this, client);
            lock (_gate)
            {
                _connections.Add(connection);
            }

            _ = connection.RunAsync();
        }
    }

    private void Forget(Connection connection)
    {
        lock (_gate)
        {
            _connections.Remove(connection);
        }
    }

    private sealed class Connection(TcpProxy proxy, Socket client)
    {
        private readonly CancellationTokenSource _closed = CancellationTokenSource.CreateLinkedTokenSource(proxy._stopping.Token);
        private readonly Socket _upstream = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

        public async Task RunAsync()
        {
            try
            {
                client.NoDelay = true;

                // Behind a blackhole the client's connect succeeds and then nothing answers.
                await proxy.WaitOpenAsync(ProxyDirection.ToUpstream, _closed.Token);
                await _upstream.ConnectAsync(IPAddress.Loopback, proxy.UpstreamPort, _closed.Token);
                await Task.WhenAny(
                    PumpAsync(client, _upstream, ProxyDirection.ToUpstream),
                    PumpAsync(_upstream, client, ProxyDirection.ToClient));
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
            {
            }
            finally
            {
                Abort();
                proxy.Forget(this);
            }
        }

        /// <summary>Closes both sockets at once with a reset, not a clean shutdown.</summary>
        public void Abort()
        {
            _closed.Cancel();
            foreach (var socket in new[] { client, _upstream })
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                }
            }
        }

        private async Task PumpAsync(Socket from, Socket to, ProxyDirection direction)
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                await proxy.WaitOpenAsync(direction, _closed.Token);
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _closed.Token);
                if (read == 0)
                {
                    return;
                }

                // Bytes read just as the proxy closed this way wait here, as they would in flight.
                await proxy.WaitOpenAsync(direction, _closed.Token);
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _closed.Token);
            }
        }
    }
}
