namespace AspireKv.Client;

/// <summary>
/// What the nodes call their log on the broker unless configured otherwise
/// (<c>Replication__Exchange</c>, <c>Replication__Stream</c>): the AppHost's dashboard and the tests
/// that look at the broker use the same names.
/// </summary>
public static class LogNames
{
    /// <summary>The fanout exchange every node publishes to.</summary>
    public const string Exchange = "aspirekv.commands";

    /// <summary>The stream bound to <see cref="Exchange"/>: the log.</summary>
    public const string Stream = "aspirekv.log";
}
