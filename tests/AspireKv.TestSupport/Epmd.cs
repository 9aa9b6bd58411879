using System.Globalization;
using AspireKv.Hosting;

namespace AspireKv.Testing;

/// <summary>
/// An Erlang port mapper of our own, on a port of its own and in the foreground, so that it is our
/// child: left to the Erlang VM, epmd daemonizes and outlives the broker.
/// </summary>
internal static class Epmd
{
    /// <summary>
    /// <paramref name="running"/> while it still runs; otherwise starts epmd on <paramref name="port"/>
    /// (loopback only) and waits until it listens.
    /// </summary>
    public static async Task<ManagedProcess> EnsureAsync(ManagedProcess? running, string name, int port, string folder, Action<LogLine>? output, CancellationToken cancellationToken)
    {
        if (running is { HasExited: false })
        {
            return running;
        }

        var program = File.Exists("/usr/bin/epmd") ? "/usr/bin/epmd" : "epmd";
        var epmd = ManagedProcess.Start(
            new ProcessSpec($"{name}-epmd", program, ["-port", port.ToString(CultureInfo.InvariantCulture), "-address", "127.0.0.1"], folder, OwnSession: true),
            output);
        for (var attempt = 0; attempt < 600 && !epmd.HasExited; attempt++)
        {
            if (!PortAllocator.IsFree(port))
            {
                return epmd;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        var lines = string.Join('\n', epmd.RecentOutput.Select(l => "  " + l.Text));
        var exited = epmd.HasExited;
        await epmd.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException(exited
            ? $"epmd for {name} exited instead of listening on port {port}:\n{lines}"
            : $"epmd for {name} did not start listening on port {port} within 30 s.");
    }
}
