namespace AspireKv.Streams;

/// <summary>A stream's place in a cluster: the broker that leads it and those that hold replicas, by host:port.</summary>
public sealed record StreamMetadata(string Stream, StreamResponseCode Code, string? Leader, IReadOnlyList<string> Replicas);

/// <summary>The protocol's requests, each one a method.</summary>
public sealed partial class StreamConnection
{
    /// <summary>
    /// Creates a stream with its arguments (<c>max-length-bytes</c>, <c>initial-cluster-size</c>, …);
    /// false when it already exists with them. One that exists with other arguments is refused
    /// (<see cref="StreamResponseCode.PreconditionFailed"/>).
    /// </summary>
    public async Task<bool> CreateStreamAsync(string stream, IReadOnlyDictionary<string, string> arguments, CancellationToken cancellationToken)
    {
        var exists = false;
        await RequestAsync($"creating stream '{stream}'", StreamCommand.Create, f => f.String(stream).Map(arguments), cancellationToken,
            code => exists = code == StreamResponseCode.StreamAlreadyExists).ConfigureAwait(false);
        return !exists;
    }

    /// <summary>Deletes a stream; false when there was none.</summary>
    public async Task<bool> DeleteStreamAsync(string stream, CancellationToken cancellationToken)
    {
        var missing = false;
        await RequestAsync($"deleting stream '{stream}'", StreamCommand.Delete, f => f.String(stream), cancellationToken,
            code => missing = code == StreamResponseCode.StreamDoesNotExist).ConfigureAwait(false);
        return !missing;
    }

    /// <summary>Which broker leads each stream and which hold its replicas.</summary>
    public async Task<IReadOnlyList<StreamMetadata>> QueryMetadataAsync(IReadOnlyList<string> streams, CancellationToken cancellationToken)
    {
        var fields = await RequestAsync("metadata", StreamCommand.Metadata, f =>
        {
            f.Int32(streams.Count);
            foreach (var stream in streams)
            {
                f.String(stream);
            }
        }, cancellationToken, hasCode: false).ConfigureAwait(false);
        return ParseMetadata(fields);
    }

    /// <summary>Parses a metadata response after its correlation id.</summary>
    internal static IReadOnlyList<StreamMetadata> ParseMetadata(ReadOnlySpan<byte> fields)
    {
        var reader = new FrameReader(fields);
        var brokers = new Dictionary<ushort, string>();
        var brokerCount = reader.Count(8);
        for (var i = 0; i < brokerCount; i++)
        {
            var reference = reader.UInt16();
            var host = reader.String();
            brokers[reference] = $"{host}:{reader.UInt32()}";
        }

        var streamCount = reader.Count(8);
        var streams = new List<StreamMetadata>(streamCount);
        for (var i = 0; i < streamCount; i++)
        {
            var name = reader.String() ?? string.Empty;
            var code = (StreamResponseCode)reader.UInt16();
            var leader = reader.UInt16();
            var replicaCount = reader.Count(2);
            var replicas = new List<string>(replicaCount);
            for (var r = 0; r < replicaCount; r++)
            {
                if (brokers.TryGetValue(reader.UInt16(), out var replica))
                {
                    replicas.Add(replica);
                }
            }

            streams.Add(new StreamMetadata(name, code, brokers.GetValueOrDefault(leader), replicas));
        }

        return streams;
    }

    /// <summary>
    /// Declares a publisher. With a <paramref name="reference"/>, the broker remembers the highest
    /// publishing id it stored for that name, and drops a publish whose id is not above it: a resend
    /// lands once. Without one the reference goes as an empty string: the broker closes the
    /// connection over a null one ("unknown frame").
    /// </summary>
    public Task DeclarePublisherAsync(byte publisherId, string? reference, string stream, CancellationToken cancellationToken) =>
        RequestAsync($"declaring a publisher on stream '{stream}'", StreamCommand.DeclarePublisher, f => f.UInt8(publisherId).String(reference ?? string.Empty).String(stream), cancellationToken);

    /// <summary>The highest publishing id the stream holds for the publisher named <paramref name="reference"/> (0 for none).</summary>
    public async Task<ulong> QueryPublisherSequenceAsync(string reference, string stream, CancellationToken cancellationToken)
    {
        var fields = await RequestAsync($"the sequence of publisher '{reference}'", StreamCommand.QueryPublisherSequence, f => f.String(reference).String(stream), cancellationToken).ConfigureAwait(false);
        return new FrameReader(fields).UInt64();
    }

    public Task DeletePublisherAsync(byte publisherId, CancellationToken cancellationToken) =>
        RequestAsync("deleting a publisher", StreamCommand.DeletePublisher, f => f.UInt8(publisherId), cancellationToken);

    /// <summary>Subscribes to a stream from <paramref name="offset"/>, with credit for that many chunks; <see cref="ChunkDelivered"/> gets them.</summary>
    public Task SubscribeAsync(byte subscriptionId, string stream, StreamOffset offset, ushort credit, CancellationToken cancellationToken) =>
        RequestAsync($"subscribing to stream '{stream}'", StreamCommand.Subscribe, f =>
        {
            f.UInt8(subscriptionId).String(stream).UInt16(offset.Type);
            if (offset.HasValue)
            {
                f.Int64(offset.Value);
            }

            f.UInt16(credit).Int32(0);
        }, cancellationToken);

    public Task UnsubscribeAsync(byte subscriptionId, CancellationToken cancellationToken) =>
        RequestAsync("unsubscribing", StreamCommand.Unsubscribe, f => f.UInt8(subscriptionId), cancellationToken);

    /// <summary>Lets the broker send <paramref name="chunks"/> more chunks to a subscription.</summary>
    public void Credit(byte subscriptionId, ushort chunks) =>
        Send(f => f.Begin(StreamCommand.Credit).UInt8(subscriptionId).UInt16(chunks));
}
