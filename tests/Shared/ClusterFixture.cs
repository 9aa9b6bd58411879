using AspireKv.Client;
using AspireKv.Hosting;

namespace AspireKv.Testing;

/// <summary>
/// A private rabbitmq-server (or a cluster of them) and three node processes on free ports, with
/// every folder under one temp folder that is removed afterwards. With one broker, each node
/// reaches it through a TCP proxy of its own, which a test can blackhole or reset to cut that node
/// off while its clients still reach it; with a cluster, nodes get every broker directly.
/// Tests may stop, kill and start nodes and the broker; each test that does so leaves the cluster
/// whole again.
/// </summary>
public class ClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly TempDirectory _root = new("aspirekv-cluster");
    private readonly Dictionary<string, KvClient> _clients = [];
    private readonly LogBuffer _log = new(5000);
    private readonly Dictionary<string, TcpProxy> _proxies = [];

    public RabbitMqServer Broker { get; private set; } = null!;

    /// <summary>The brokers, when the fixture runs a RabbitMQ cluster (<see cref="BrokerCount"/> above one); <see cref="Broker"/> is then its first.</summary>
    public BrokerCluster? Brokers { get; private set; }

    /// <summary>How many brokers: one, reached through a proxy per node, or a cluster that every node reaches directly.</summary>
    protected virtual int BrokerCount => 1;

    /// <summary>What the nodes get as ConnectionStrings__messaging, less the proxies: the broker's URI, or every broker's.</summary>
    public string BrokerConnectionString => Brokers?.ConnectionString ?? Broker.ConnectionString;

    /// <summary>Every broker's stream port, as the nodes get it, less the proxies.</summary>
    public string BrokerStreamEndpoints => string.Join(',', (Brokers?.Brokers ?? [Broker]).Select(b => $"127.0.0.1:{b.Layout.StreamPort}"));

    /// <summary>The log the nodes use (<c>Replication__Log</c>): <c>Stream</c> here (the suites that break the topology run it), or <c>Amqp</c>, the nodes' default (AmqpLogTests and the end-to-end suite); with one broker the proxies stand in front of its port.</summary>
    protected virtual string Log => "Stream";

    public IReadOnlyDictionary<string, NodeProcess> Nodes { get; private set; } = new Dictionary<string, NodeProcess>();

    /// <summary>The proxy between <paramref name="node"/> and the broker.</summary>
    public TcpProxy Proxy(string node) => _proxies[node];

    /// <summary>Settings every node gets, on top of the defaults.</summary>
    protected virtual IReadOnlyDictionary<string, string?> NodeEnvironment => new Dictionary<string, string?>
    {
        ["Node__SnapshotInterval"] = "00:00:01",
    };

    public KvClient Client(string node)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(node, out var client))
            {
                client = _clients[node] = Nodes[node].CreateClient(new KvClientOptions { DefaultTimeout = TimeSpan.FromSeconds(15) });
            }

            return client;
        }
    }

    /// <summary>The folder every broker and node keeps its data in (and its logs), removed afterwards.</summary>
    public string DataRoot => _root.Path;

    /// <summary>Every line the processes printed that is still kept (the last 5,000).</summary>
    public IReadOnlyList<LogLine> Output => _log.Snapshot();

    /// <summary>The last lines of every process, for a failing assertion to show.</summary>
    public string RecentLog(int lines = 200) => string.Join('\n', _log.Snapshot().TakeLast(lines).Select(l => $"{l.Resource}: {l.Text}"));

    public async Task InitializeAsync()
    {
        if (BrokerCount > 1)
        {
            Brokers = new BrokerCluster("messaging", _root.Combine("messaging"), BrokerCount, _log.Add);
            await Brokers.StartAsync(StartTimeout);
            Broker = Brokers.Brokers[0];
        }
        else
        {
            Broker = new RabbitMqServer("messaging", _root.Combine("messaging"), _log.Add);
            await Broker.StartAsync(StartTimeout);
        }

        string[] names = ["node1", "node2", "node3"];
        var ports = names.ToDictionary(n => n, _ => (Grpc: PortAllocator.Next(), Http: PortAllocator.Next()));
        var peers = names.ToDictionary(n => n, n => new Uri($"http://127.0.0.1:{ports[n].Grpc}"));
        var assembly = ResourceProjects.GetPath(ResourceProjects.Node, typeof(ClusterFixture).Assembly);
        foreach (var name in names)
        {
            _proxies[name] = new TcpProxy($"{name}-broker", Log == "Amqp" ? Broker.AmqpPort : Broker.Layout.StreamPort);
        }

        Nodes = names.ToDictionary(n => n, n => new NodeProcess(
            new NodeSpec(n, ports[n].Grpc, ports[n].Http, _root.Combine(n))
            {
                BrokerConnectionString = Brokers is null && Log == "Amqp"
                    ? Broker.ConnectionString.Replace($":{Broker.AmqpPort}", $":{_proxies[n].Port}", StringComparison.Ordinal)
                    : BrokerConnectionString,
                BrokerStreamEndpoints = Brokers is null ? $"127.0.0.1:{_proxies[n].Port}" : BrokerStreamEndpoints,
                Peers = peers,
                Environment = WithLog(NodeEnvironment),
            },
            assembly,
            _log.Add));
        foreach (var node in Nodes.Values)
        {
            node.Start();
        }

        await Task.WhenAll(Nodes.Values.Select(n => n.WaitHealthyAsync(StartTimeout)));
    }

    /// <summary>
    /// A node that joins the running cluster (not started yet): its own ports and empty data
    /// folder, the broker directly, and every node as its peer; <paramref name="environment"/> on top
    /// of the cluster's settings. The caller disposes it.
    /// </summary>
    public NodeProcess CreateJoiningNode(string name, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var (grpc, http) = (PortAllocator.Next(), PortAllocator.Next());
        var peers = Nodes.ToDictionary(n => n.Key, n => n.Value.Spec.GrpcAddress);
        peers[name] = new Uri($"http://127.0.0.1:{grpc}");
        return new NodeProcess(
            new NodeSpec(name, grpc, http, _root.Combine(name))
            {
                BrokerConnectionString = BrokerConnectionString,
                BrokerStreamEndpoints = BrokerStreamEndpoints,
                Peers = peers,
                Environment = WithLog(environment is null ? NodeEnvironment : NodeEnvironment.Concat(environment).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value)),
            },
            ResourceProjects.GetPath(ResourceProjects.Node, typeof(ClusterFixture).Assembly),
            _log.Add);
    }

    /// <summary>Raises the broker's memory alarm (a watermark of 1 byte, always exceeded) or clears it.</summary>
    public async Task SetMemoryAlarmAsync(bool raised)
    {
        var (exitCode, output) = await Broker.RunCtlAsync(TimeSpan.FromMinutes(1), raised
            ? ["set_vm_memory_high_watermark", "absolute", "1"]
            : ["set_vm_memory_high_watermark", "0.4"]);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl set_vm_memory_high_watermark failed:\n{output}");
        }
    }

    private IReadOnlyDictionary<string, string?> WithLog(IReadOnlyDictionary<string, string?> environment) =>
        environment.ContainsKey("Replication__Log") ? environment : new Dictionary<string, string?>(environment) { ["Replication__Log"] = Log };

    public virtual async Task DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        await Task.WhenAll(Nodes.Values.Select(n => n.DisposeAsync().AsTask()));
        foreach (var proxy in _proxies.Values)
        {
            await proxy.DisposeAsync();
        }

        if (Brokers is not null)
        {
            await Brokers.DisposeAsync();
        }
        else if (Broker is not null)
        {
            await Broker.DisposeAsync();
        }

        _root.Dispose();
    }

    /// <summary>Every node at the same applied revision with the same state hash, or what differs.</summary>
    public async Task<(bool Same, string Report)> CompareNodesAsync(IEnumerable<string>? nodes = null)
    {
        var statuses = await Task.WhenAll((nodes ?? Nodes.Keys).Select(async n => (Name: n, Status: await Client(n).StatusAsync(includeStateHash: true))));
        var report = string.Join("; ", statuses.Select(s => $"{s.Name}: revision {s.Status.AppliedRevision}, offset {s.Status.AppliedLogOffset}, hash {s.Status.StateHash[..12]}"));
        var same = statuses.Select(s => (s.Status.AppliedRevision, s.Status.StateHash)).Distinct().Count() == 1;
        return (same, report);
    }

    /// <summary>Waits until every node (or each of <paramref name="nodes"/>) has applied the same log and holds the same state (after a barrier on each).</summary>
    public async Task WaitForConvergenceAsync(TimeSpan timeout, IEnumerable<string>? nodes = null)
    {
        var names = (nodes ?? Nodes.Keys).ToList();
        var deadline = DateTime.UtcNow + timeout;
        var report = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                // A linearizable read on each node makes it apply everything written before.
                await Task.WhenAll(names.Select(n => Client(n).GetAsync("convergence-probe")));
                (var same, report) = await CompareNodesAsync(names);
                if (same)
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException ex)
            {
                report = ex.Message;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"The nodes did not converge within {timeout.TotalSeconds:F0} s: {report}\n{RecentLog()}");
    }
}
