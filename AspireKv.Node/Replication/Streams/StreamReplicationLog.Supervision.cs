using System.Globalization;
using AspireKv.Node.Replication.RabbitMq;
using AspireKv.Streams;

namespace AspireKv.Node.Replication.Streams;

/// <summary>The session supervisor: the stream declared, its leader found, the named publisher declared, waiting entries sent again.</summary>
public sealed partial class StreamReplicationLog
{
    private async Task SuperviseAsync(CancellationToken stopping)
    {
        var delay = _options.ReconnectDelay;
        var everConnected = false;
        while (!stopping.IsCancellationRequested)
        {
            StreamConnection? connection = null;
            Session? session = null;
            try
            {
                connection = await ConnectToLeaderAsync(stopping).ConfigureAwait(false);
                session = new Session(connection, _sessions.Count + 1, _options.Stream, _logger);
                await connection.DeclarePublisherAsync(PublisherId, _nodeId, _options.Stream, stopping).ConfigureAwait(false);
                var stored = await connection.QueryPublisherSequenceAsync(_nodeId, _options.Stream, stopping).ConfigureAwait(false);
                lock (_carryGate)
                {
                    // Entries still waiting from the last session go first, with their ids: those
                    // the stream holds already are dropped (and confirmed) by the broker. New ids
                    // start above anything it holds from this node, a process before this one too.
                    _nextPublishingId = Math.Max(_nextPublishingId, stored + 1);
                    foreach (var publish in _carriedOver.Where(p => !p.Abandoned).OrderBy(p => p.Id))
                    {
                        session.Publish(publish, () => _nextPublishingId++);
                    }

                    _carriedOver.Clear();
                }

                _maxEntryBytes = session.MaxEntryBytes;
                if (everConnected)
                {
                    Interlocked.Increment(ref _reconnects);
                }

                everConnected = true;
                delay = _options.ReconnectDelay;
                _sessions.Set(session, string.Empty, session.Number);
                _logger.LogInformation("Connected to RabbitMQ's stream port at {Endpoint}; the log is stream '{Stream}', publishing as '{Publisher}' from id {Next}.", Endpoint, _options.Stream, _nodeId, _nextPublishingId);

                var reason = await connection.Closed.WaitAsync(stopping).ConfigureAwait(false);
                _sessions.Set(null, $"the connection to RabbitMQ at {Endpoint} was lost ({reason}); reconnecting");
                _logger.LogWarning("Lost the connection to RabbitMQ at {Endpoint}: {Reason}. Reconnecting{Where}.", Endpoint, reason, _brokers.Count > 1 ? ", to the next broker first" : string.Empty);
                _nextBroker = (_nextBroker + 1) % _brokers.Count;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var cause = RabbitMqReplicationLog.Cause(ex);
                _sessions.Set(null, $"RabbitMQ at {Endpoint} cannot be used ({cause}); retrying");
                _logger.LogWarning("Cannot use RabbitMQ's stream port at {Endpoint}: {Cause}. Retrying in {Delay} ms.", Endpoint, cause, delay.TotalMilliseconds);
                _nextBroker = (_nextBroker + 1) % _brokers.Count;
            }
            finally
            {
                if (session is not null)
                {
                    var waiting = session.End();
                    lock (_carryGate)
                    {
                        _carriedOver.AddRange(waiting);
                    }
                }

                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (await LogSessions<Session>.BackOffAsync(delay, _options, stopping).ConfigureAwait(false) is not { } next)
            {
                break;
            }

            delay = next;
        }

        _sessions.Set(null, "the node is shutting down");
    }

    /// <summary>
    /// A connection to the stream's leader: the brokers are tried from the one whose turn it is, the
    /// stream is declared on the first that answers, and the first whose advertised address is the
    /// leader's in the stream's metadata is kept. When none of them is (the leader cannot be reached
    /// from here, or the endpoints are proxies), the first that answered is kept: it holds a replica
    /// to read from, and forwards publishes to the leader.
    /// </summary>
    private async Task<StreamConnection> ConnectToLeaderAsync(CancellationToken stopping)
    {
        StreamConnection? fallback = null;
        var fallbackBroker = 0;
        Exception? failure = null;
        string? leader = null;
        for (var tried = 0; tried < _brokers.Count; tried++)
        {
            var broker = (_nextBroker + tried) % _brokers.Count;
            StreamConnection? connection = null;
            try
            {
                _endpoint = _brokers[broker].Endpoint;
                connection = await StreamConnection.ConnectAsync(_brokers[broker], stopping).ConfigureAwait(false);
                if (fallback is null)
                {
                    await DeclareStreamAsync(connection, stopping).ConfigureAwait(false);
                }

                var metadata = (await connection.QueryMetadataAsync([_options.Stream], stopping).ConfigureAwait(false)).Single();
                leader = metadata.Leader;
                if (_brokers.Count == 1 || (leader is not null && leader == Advertised(connection)))
                {
                    if (fallback is not null)
                    {
                        await fallback.DisposeAsync().ConfigureAwait(false);
                    }

                    _nextBroker = broker;
                    (var leading, connection) = (connection, null);
                    return leading;
                }

                if (fallback is null)
                {
                    (fallback, fallbackBroker, connection) = (connection, broker, null);
                }
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                failure = ex;
            }
            finally
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        if (fallback is null)
        {
            throw failure ?? new InvalidOperationException("no broker answered");
        }

        _nextBroker = fallbackBroker;
        _endpoint = fallback.Endpoint;
        _logger.LogInformation(
            "The leader of stream '{Stream}' ({Leader}) is not one of the stream endpoints this node reaches; it uses {Endpoint}, which passes its publishes on.",
            _options.Stream, leader ?? "none now", fallback.Endpoint);
        return fallback;
    }

    /// <summary>Creates the stream with this node's retention and replica count; one that exists with other values is used as it is.</summary>
    private async Task DeclareStreamAsync(StreamConnection connection, CancellationToken cancellationToken)
    {
        var arguments = new Dictionary<string, string>();
        if (_options.StreamMaxLengthBytes > 0)
        {
            arguments["max-length-bytes"] = _options.StreamMaxLengthBytes.ToString(CultureInfo.InvariantCulture);
        }

        if (_options.StreamMaxSegmentSizeBytes > 0)
        {
            arguments["stream-max-segment-size-bytes"] = _options.StreamMaxSegmentSizeBytes.ToString(CultureInfo.InvariantCulture);
        }

        if ((_options.StreamReplicas ?? _brokers.Count) is > 1 and var replicas)
        {
            // A replica on each broker: a confirm then means a majority of them has written the entry.
            arguments["initial-cluster-size"] = replicas.ToString(CultureInfo.InvariantCulture);
        }

        try
        {
            await connection.CreateStreamAsync(_options.Stream, arguments, cancellationToken).ConfigureAwait(false);
        }
        catch (StreamResponseException ex) when (ex.Code == StreamResponseCode.PreconditionFailed)
        {
            // Retention and replica count are fixed when a stream is created (a policy changes
            // them later): a stream made with other values, by an older version or other settings,
            // is still the log.
            _logger.LogWarning(
                "Stream '{Stream}' exists with other arguments than this node's settings give; the node uses it as it is. " +
                "Retention and replica count are fixed when a stream is created: change them with a RabbitMQ policy.", _options.Stream);
        }
    }

    /// <summary>The address the broker advertises for itself (the one metadata names it by).</summary>
    private static string? Advertised(StreamConnection connection) =>
        connection.ServerProperties.TryGetValue("advertised_host", out var host) && connection.ServerProperties.TryGetValue("advertised_port", out var port)
            ? $"{host}:{port}"
            : null;
}
