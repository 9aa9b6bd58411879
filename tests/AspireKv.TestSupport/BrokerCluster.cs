using AspireKv.Hosting.RabbitMQ;

namespace AspireKv.Testing;

/// <summary>
/// Private rabbitmq-server instances joined into one RabbitMQ cluster on this machine. Each has its
/// own node name, ports and data folder; they share one port mapper (Erlang nodes find each other
/// through it), a generated Erlang cookie that only their folders hold, and the password. The
/// first start joins each broker to the first; later starts find the cluster in the brokers' data
/// and start them together.
/// </summary>
public sealed class BrokerCluster : IAsyncDisposable
{
    private readonly string _dataRoot;
    private readonly Action<LogLine>? _output;
    private ManagedProcess? _epmd;

    /// <param name="name">The resource name; the brokers are <c>{name}-1</c> to <c>{name}-{size}</c>.</param>
    /// <param name="dataRoot">A folder of the cluster's own; each broker's folder goes under it.</param>
    /// <param name="size">How many brokers.</param>
    /// <param name="output">Receives the brokers' and the port mapper's log lines.</param>
    public BrokerCluster(string name, string dataRoot, int size, Action<LogLine>? output = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        Name = name;
        _dataRoot = Path.GetFullPath(dataRoot);
        _output = output;
        Directory.CreateDirectory(_dataRoot);
        Identity = BrokerClusterIdentity.LoadOrCreate(Path.Combine(_dataRoot, "cluster.state"));
        Brokers = [.. Enumerable.Range(1, size).Select(i => new RabbitMqServer($"{name}-{i}", Path.Combine(_dataRoot, $"{name}-{i}"), output, Identity))];
    }

    public string Name { get; }

    public BrokerClusterIdentity Identity { get; }

    public IReadOnlyList<RabbitMqServer> Brokers { get; }

    /// <summary>Every broker's AMQP URI, separated by commas: the list an AspireKv node reads as its connection string.</summary>
    public string ConnectionString => string.Join(',', Brokers.Select(b => b.ConnectionString));

    private string JoinedMarker => Path.Combine(_dataRoot, "joined");

    /// <summary>Starts every broker and, the first time, joins them into one cluster.</summary>
    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        _epmd = await Epmd.EnsureAsync(_epmd, Name, Identity.EpmdPort, _dataRoot, _output, cancellationToken).ConfigureAwait(false);

        if (File.Exists(JoinedMarker))
        {
            // Clustered brokers wait at boot for the peers they last saw running: start them together.
            await Task.WhenAll(Brokers.Select(b => b.StartAsync(timeout, cancellationToken))).ConfigureAwait(false);
            return;
        }

        var first = Brokers[0];
        await first.StartAsync(timeout, cancellationToken).ConfigureAwait(false);
        foreach (var broker in Brokers.Skip(1))
        {
            await broker.StartAsync(timeout, cancellationToken).ConfigureAwait(false);
            await CtlAsync(broker, timeout, "stop_app").ConfigureAwait(false);
            await CtlAsync(broker, timeout, "join_cluster", first.NodeName).ConfigureAwait(false);
            await CtlAsync(broker, timeout, "start_app").ConfigureAwait(false);
        }

        await File.WriteAllTextAsync(JoinedMarker, string.Join('\n', Brokers.Select(b => b.NodeName)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops every broker (the last one started first), then the port mapper.</summary>
    public async Task StopAsync()
    {
        foreach (var broker in Brokers.Reverse())
        {
            await broker.StopAsync().ConfigureAwait(false);
        }

        if (_epmd is { } epmd)
        {
            await epmd.DisposeAsync().ConfigureAwait(false);
            _epmd = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>
    /// The broker that leads <paramref name="stream"/> (writes it and replicates it to the others),
    /// as a running broker reports it (<c>rabbitmqctl list_queues name leader</c>); null when none can say.
    /// </summary>
    public async Task<RabbitMqServer?> GetStreamLeaderAsync(string stream)
    {
        foreach (var broker in Brokers.Where(b => b.IsRunning))
        {
            var (exitCode, output) = await broker.RunCtlAsync(TimeSpan.FromSeconds(30), "list_queues", "name", "leader", "--no-table-headers", "--quiet").ConfigureAwait(false);
            if (exitCode != 0)
            {
                continue;
            }

            var leader = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.Split('\t', StringSplitOptions.TrimEntries))
                .FirstOrDefault(columns => columns.Length == 2 && columns[0] == stream)?[1];
            return Brokers.FirstOrDefault(b => b.NodeName == leader);
        }

        return null;
    }

    private static async Task CtlAsync(RabbitMqServer broker, TimeSpan timeout, params string[] arguments)
    {
        var (exitCode, output) = await broker.RunCtlAsync(timeout, arguments).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', arguments)} failed for {broker.Name} (exit code {exitCode}):\n{output}");
        }
    }
}
