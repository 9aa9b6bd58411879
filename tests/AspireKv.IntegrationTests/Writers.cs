using System.Collections.Concurrent;
using AspireKv.Testing;
using Grpc.Core;

namespace AspireKv.IntegrationTests;

/// <summary>
/// Background writers: each puts unique keys through one node until stopped, and records every
/// write that was acknowledged and every one that failed.
/// </summary>
public sealed class Writers : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];

    public Writers(ClusterFixture cluster, IEnumerable<string> nodes, string prefix, int perNode = 2, TimeSpan? timeout = null)
    {
        var writer = 0;
        foreach (var node in nodes)
        {
            for (var i = 0; i < perNode; i++)
            {
                var id = writer++;
                _loops.Add(Task.Run(() => WriteLoopAsync(cluster, node, $"{prefix}/{id}", timeout ?? TimeSpan.FromSeconds(3))));
            }
        }
    }

    public ConcurrentBag<(string Node, string Key, string Value, long Revision)> Acknowledged { get; } = [];

    public ConcurrentBag<(string Node, StatusCode Code, string Detail)> Failures { get; } = [];

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task WriteLoopAsync(ClusterFixture cluster, string node, string prefix, TimeSpan timeout)
    {
        for (var n = 0; !_stop.IsCancellationRequested; n++)
        {
            var key = $"{prefix}/{n}";
            var value = $"{node}:{n}";
            try
            {
                var response = await cluster.Client(node).PutAsync(key, value, timeout: timeout);
                Acknowledged.Add((node, key, value, response.Revision));
            }
            catch (RpcException ex)
            {
                Failures.Add((node, ex.StatusCode, ex.Status.Detail));
                await Task.Delay(50);
            }
        }
    }
}
