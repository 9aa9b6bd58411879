using System.Diagnostics;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace AspireKv.Node.Replication.RabbitMq;

/// <summary>The session supervisor: one connection at a time, to one broker of the list, replaced with a new session when it ends.</summary>
public sealed partial class RabbitMqReplicationLog
{
    private async Task SuperviseAsync(CancellationToken stopping)
    {
        var delay = _options.ReconnectDelay;
        var everConnected = false;
        while (!stopping.IsCancellationRequested)
        {
            IConnection? connection = null;
            try
            {
                connection = await ConnectAsync(stopping).ConfigureAwait(false);
                var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                connection.ConnectionShutdownAsync += (_, args) =>
                {
                    ended.TrySetResult($"the connection was closed: {Describe(args)}");
                    return Task.CompletedTask;
                };
                await DeclareTopologyAsync(connection, stopping).ConfigureAwait(false);
                var publisher = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), stopping).ConfigureAwait(false);
                publisher.ChannelShutdownAsync += (_, args) =>
                {
                    // A channel-level error (for example a publish to a missing exchange) closes only
                    // the channel; every later publish would fail on it. End the session instead.
                    ended.TrySetResult($"the broker closed the publishing channel: {Describe(args)}");
                    return Task.CompletedTask;
                };

                var session = new Session(connection, publisher, _sessions.Count + 1, ended);
                connection.ConnectionBlockedAsync += (_, args) =>
                {
                    session.BlockedReason = args.Reason;
                    _logger.LogWarning("RabbitMQ at {Endpoint} is blocking publishers ({Reason}): writes fail until it lifts the alarm.", Endpoint, args.Reason);
                    return Task.CompletedTask;
                };
                connection.ConnectionUnblockedAsync += (_, _) =>
                {
                    session.BlockedReason = null;
                    _logger.LogInformation("RabbitMQ at {Endpoint} takes writes again.", Endpoint);
                    return Task.CompletedTask;
                };

                if (everConnected)
                {
                    Interlocked.Increment(ref _reconnects);
                }

                everConnected = true;
                delay = _options.ReconnectDelay;
                _sessions.Set(session, string.Empty, session.Number);
                _logger.LogInformation("Connected to RabbitMQ at {Endpoint}; the log is stream '{Stream}'.", Endpoint, _options.Stream);

                var reason = await ended.Task.WaitAsync(stopping).ConfigureAwait(false);
                _sessions.Set(null, $"the connection to RabbitMQ at {Endpoint} was lost ({reason}); reconnecting");
                _logger.LogWarning("Lost the connection to RabbitMQ at {Endpoint}: {Reason}. Reconnecting{Where}.", Endpoint, reason, BrokerCount > 1 ? ", to the next broker first" : string.Empty);
                _nextBroker = (_nextBroker + 1) % BrokerCount;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var cause = Cause(ex);
                _sessions.Set(null, $"RabbitMQ at {Endpoint} is unreachable ({cause}); retrying");
                _logger.LogWarning("Cannot use RabbitMQ at {Endpoint}: {Cause}. Retrying in {Delay} ms.", Endpoint, cause, delay.TotalMilliseconds);
                _nextBroker = (_nextBroker + 1) % BrokerCount;
            }
            finally
            {
                if (connection is not null)
                {
                    await CloseQuietlyAsync(connection).ConfigureAwait(false);
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
    /// One connection attempt to the broker whose turn it is, TCP and AMQP handshake together,
    /// bounded by <see cref="ReplicationOptions.ConnectTimeout"/>. A failure moves the turn on, so
    /// that with a cluster the next attempt tries another broker.
    /// </summary>
    private async Task<IConnection> ConnectAsync(CancellationToken stopping)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        attempt.CancelAfter(_options.ConnectTimeout);
        var started = Stopwatch.GetTimestamp();
        var broker = _brokers.Endpoints[_nextBroker];
        _endpoint = Describe(broker);
        _logger.LogDebug("Connecting to RabbitMQ at {Endpoint}.", Endpoint);
        try
        {
            return await _factory.CreateConnectionAsync([broker], _factory.ClientProvidedName, attempt.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested && (attempt.IsCancellationRequested || Stopwatch.GetElapsedTime(started) >= _options.ConnectTimeout))
        {
            throw new TimeoutException(
                $"connecting timed out after {_options.ConnectTimeout.TotalSeconds:0.#} s: the broker did not complete the connection and AMQP handshake (a network partition, or a broker that does not answer)", ex);
        }
    }

    /// <summary>Why a connection or channel ended, in words: who closed it, and the real cause (a missed heartbeat is not a clean close).</summary>
    private string Describe(ShutdownEventArgs args)
    {
        if (args.Exception is EndOfStreamException { Message: var missed } && missed.StartsWith("Heartbeat missing", StringComparison.Ordinal))
        {
            return $"no heartbeat from the broker for about {3 * _options.Heartbeat.TotalSeconds:0.#} s: the broker or the network to it stopped answering";
        }

        var who = args.Initiator switch
        {
            ShutdownInitiator.Peer => "the broker closed it",
            ShutdownInitiator.Library => "the client library closed it",
            _ => "this node closed it",
        };
        var cause = args.Exception is { } ex ? $"; {Cause(ex)}" : string.Empty;
        return $"{who} ({args.ReplyCode} {args.ReplyText}){cause}";
    }

    internal static string Cause(Exception ex)
    {
        var messages = new List<string>();
        for (var e = ex; e is not null && messages.Count < 3; e = e.InnerException)
        {
            if (!messages.Contains(e.Message))
            {
                messages.Add(e.Message);
            }
        }

        return string.Join(": ", messages);
    }

    private static async Task CloseQuietlyAsync(IConnection connection)
    {
        try
        {
            // Bounded: behind a partition a clean close would never be answered.
            await connection.AbortAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already gone.
        }

        connection.Dispose();
    }

    private static string Describe(AmqpTcpEndpoint broker) => $"{broker.HostName}:{broker.Port}";

    /// <summary>
    /// The broker a node tries first: from its id, the same on every start. Ids that differ only in
    /// their last character (node1, node2, node3) get consecutive brokers.
    /// </summary>
    internal static int StartingBroker(string nodeId, int brokers)
    {
        var hash = 0u;
        foreach (var c in nodeId)
        {
            hash = unchecked((hash * 31) + c);
        }

        return (int)(hash % (uint)brokers);
    }
}
