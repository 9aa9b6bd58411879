namespace AspireKv.Cli.Bench;

/// <summary>What one kind of operation does in a benchmark.</summary>
internal enum OperationKind
{
    Put,
    GetLinearizable,
    GetSerializable,

    /// <summary>Puts, linearizable and serializable Gets, a third each.</summary>
    Mixed,

    /// <summary>Publish plus confirm straight to a stream shaped like the log: the ceiling for Puts.</summary>
    BrokerBaseline,
}

/// <summary>Which API the benchmark drives: AspireKv's own, or etcd's v3 KV API (etcd itself, or a node's etcd endpoint).</summary>
internal enum BenchApi
{
    Native,
    Etcd,
}

/// <summary>The settings of one <c>aspirekv bench</c> run.</summary>
internal sealed class BenchOptions
{
    public int Clients { get; init; } = 16;

    /// <summary>The most operations per second of all the clients together (<c>--rate</c>, as in etcd's benchmark); 0 for no limit.</summary>
    public double Rate { get; init; }

    public BenchApi Api { get; init; } = BenchApi.Native;

    /// <summary>Write every key once before the first read workload, so that reads find values (<c>--no-populate</c> skips it).</summary>
    public bool Populate { get; init; } = true;

    /// <summary>How long each workload is measured, unless <see cref="Operations"/> is set.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many operations each workload is measured for; 0 to measure for <see cref="Duration"/>.</summary>
    public long Operations { get; init; }

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How many distinct keys the operations pick from.</summary>
    public int Keys { get; init; } = 1000;

    public int ValueSize { get; init; } = 256;

    /// <summary>The workloads, run one after the other.</summary>
    public IReadOnlyList<OperationKind> Workloads { get; init; } = [OperationKind.Put];

    /// <summary>Also measure the broker ceiling (<c>--baseline broker</c>).</summary>
    public bool BrokerBaseline { get; init; }

    /// <summary>The broker to measure the baseline against; from the discovery file when not given.</summary>
    public string? BrokerConnectionString { get; init; }

    public static string KindName(OperationKind kind) => kind switch
    {
        OperationKind.Put => "put",
        OperationKind.GetLinearizable => "get-linearizable",
        OperationKind.GetSerializable => "get-serializable",
        OperationKind.Mixed => "mixed",
        OperationKind.BrokerBaseline => "broker-baseline",
        _ => kind.ToString(),
    };

    public static OperationKind ParseKind(string text) => text.Trim().ToLowerInvariant() switch
    {
        "put" => OperationKind.Put,
        "get" or "get-linearizable" or "linearizable" => OperationKind.GetLinearizable,
        "get-serializable" or "serializable" => OperationKind.GetSerializable,
        "mixed" => OperationKind.Mixed,
        _ => throw new CliException(ExitCodes.Usage, $"'{text}' is not a workload; use put, get-linearizable, get-serializable or mixed (several with commas)."),
    };
}
