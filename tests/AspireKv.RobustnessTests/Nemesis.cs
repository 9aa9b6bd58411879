using AspireKv.Testing;

namespace AspireKv.RobustnessTests;

/// <summary>The faults the robustness suite injects.</summary>
public enum Fault
{
    /// <summary>kill -9 of a node, then a start from its snapshot and the log.</summary>
    KillNode,

    /// <summary>SIGSTOP of a node, then SIGCONT.</summary>
    PauseNode,

    /// <summary>The broker stopped gracefully, then started.</summary>
    RestartBroker,

    /// <summary>kill -9 of the broker, then a start.</summary>
    KillBroker,

    /// <summary>A node cut off from the broker by its proxy (a silent partition, or a reset) while its clients still reach it.</summary>
    PartitionNode,

    /// <summary>On a three-broker cluster: kill -9 of the broker that leads the stream, then a start (it rejoins as a replica).</summary>
    KillStreamLeader,
}

/// <summary>Injects one kind of fault over and over while the workload runs, on a random node each time, and heals it.</summary>
public sealed class Nemesis(ClusterFixture cluster, Fault fault, int seed)
{
    private readonly Random _random = new(seed);
    private readonly List<string> _actions = [];
    private RabbitMqServer? _killedBroker;

    /// <summary>What it did, in order, for a failing assertion to show.</summary>
    public IReadOnlyList<string> Actions => _actions;

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(1500, 3000)), stop);
                var node = cluster.Nodes.Keys.ElementAt(_random.Next(cluster.Nodes.Count));
                await InjectAsync(node);
                await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(2000, 5000)), CancellationToken.None);
                await HealAsync(node);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Undoes whatever may still be in effect: every node running, the broker up, every proxy forwarding.</summary>
    public async Task HealAllAsync()
    {
        foreach (var node in cluster.Nodes.Keys)
        {
            cluster.Proxy(node).Heal();
            cluster.Nodes[node].Process?.Resume();
            if (!cluster.Nodes[node].IsRunning)
            {
                cluster.Nodes[node].Start();
            }
        }

        foreach (var broker in cluster.Brokers?.Brokers ?? [cluster.Broker])
        {
            if (!broker.IsRunning)
            {
                await broker.StartAsync(ClusterFixture.StartTimeout);
            }
        }

        await Task.WhenAll(cluster.Nodes.Values.Select(n => n.WaitHealthyAsync(ClusterFixture.StartTimeout)));
    }

    private async Task InjectAsync(string node)
    {
        switch (fault)
        {
            case Fault.KillNode:
                Say($"kill -9 {node}");
                await cluster.Nodes[node].KillAsync();
                break;
            case Fault.PauseNode:
                Say($"SIGSTOP {node}");
                cluster.Nodes[node].Process!.Pause();
                break;
            case Fault.RestartBroker:
                Say("stop the broker");
                await cluster.Broker.StopAsync();
                break;
            case Fault.KillBroker:
                Say("kill -9 the broker");
                await cluster.Broker.KillAsync();
                break;
            case Fault.KillStreamLeader:
                _killedBroker = await cluster.Brokers!.GetStreamLeaderAsync(AspireKv.Client.LogNames.Stream) ?? cluster.Brokers.Brokers[_random.Next(cluster.Brokers.Brokers.Count)];
                Say($"kill -9 {_killedBroker.Name}, which leads the stream");
                await _killedBroker.KillAsync();
                break;
            case Fault.PartitionNode:
                var reset = _random.Next(2) == 0;
                Say(reset ? $"cut {node} off from the broker, with a reset" : $"cut {node} off from the broker, silently");
                cluster.Proxy(node).Blackhole();
                if (reset)
                {
                    cluster.Proxy(node).Reset();
                }

                break;
        }
    }

    private async Task HealAsync(string node)
    {
        switch (fault)
        {
            case Fault.KillNode:
                Say($"start {node}");
                cluster.Nodes[node].Start();
                break;
            case Fault.PauseNode:
                Say($"SIGCONT {node}");
                cluster.Nodes[node].Process!.Resume();
                break;
            case Fault.RestartBroker or Fault.KillBroker:
                Say("start the broker");
                await cluster.Broker.StartAsync(ClusterFixture.StartTimeout);
                break;
            case Fault.PartitionNode:
                Say($"heal {node}");
                cluster.Proxy(node).Heal();
                break;
            case Fault.KillStreamLeader:
                Say($"start {_killedBroker!.Name}");
                await _killedBroker.StartAsync(ClusterFixture.StartTimeout);
                break;
        }
    }

    private void Say(string action)
    {
        lock (_actions)
        {
            _actions.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {action}");
        }
    }
}
