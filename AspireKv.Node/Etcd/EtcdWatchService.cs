using AspireKv.Node.Replication;
using AspireKv.Node.StateMachine;
using AspireKv.Node.Watching;
using Grpc.Core;
using Mvcc = AspireKv.Etcd.Mvcc;

namespace AspireKv.Node.Etcd;

/// <summary>
/// etcd's bidirectional <c>Watch</c>: a stream carries any number of watches, created and
/// cancelled by the client. Each is answered first with a "created" response at the current
/// revision, then with one response per revision that touched its range, from the same feed as
/// the native Watch. A watch from a compacted revision is cancelled with the compact revision, as
/// etcd does; one that falls behind is cancelled with the reason.
/// </summary>
public sealed class EtcdWatchService(Replica replica, EtcdIdentity identity, Auth.AuthGate auth) : AspireKv.Etcd.Watch.WatchBase
{
    /// <summary>The watch id of a progress response that speaks for the whole stream (clientv3's InvalidWatchID).</summary>
    private const long StreamWide = -1;

    public override async Task Watch(IAsyncStreamReader<AspireKv.Etcd.WatchRequest> requestStream, IServerStreamWriter<AspireKv.Etcd.WatchResponse> responseStream, ServerCallContext context)
    {
        var stream = new WatchStream(responseStream, context.CancellationToken);
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                switch (request.RequestUnionCase)
                {
                    case AspireKv.Etcd.WatchRequest.RequestUnionOneofCase.CreateRequest:
                        await CreateAsync(stream, request.CreateRequest, context).ConfigureAwait(false);
                        break;
                    case AspireKv.Etcd.WatchRequest.RequestUnionOneofCase.CancelRequest:
                        var id = request.CancelRequest.WatchId;
                        if (stream.Cancel(id))
                        {
                            await stream.SendAsync(new AspireKv.Etcd.WatchResponse { Header = identity.Header(CurrentRevision()), WatchId = id, Canceled = true }).ConfigureAwait(false);
                        }

                        break;
                    case AspireKv.Etcd.WatchRequest.RequestUnionOneofCase.ProgressRequest:
                        await stream.SendAsync(new AspireKv.Etcd.WatchResponse { Header = identity.Header(CurrentRevision()), WatchId = StreamWide }).ConfigureAwait(false);
                        break;
                }
            }
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private long CurrentRevision() => replica.Read(state => state.Revision);

    private async Task CreateAsync(WatchStream stream, AspireKv.Etcd.WatchCreateRequest create, ServerCallContext context)
    {
        var id = stream.NewId(create.WatchId);
        string? refusal = id is null ? "etcdserver: mvcc: duplicate watch ID provided on the WatchStream" : null;
        KeyRange range = default;
        try
        {
            range = KeyRange.FromEtcd(EtcdCommands.Key(create.Key), create.RangeEnd.Span);
            auth.Check(context, KeyAccess.Read, range.Start, create.RangeEnd.Span);
        }
        catch (RpcException ex)
        {
            refusal ??= ex.Status.Detail;
        }

        if (refusal is not null || create.StartRevision < 0)
        {
            await stream.SendAsync(new AspireKv.Etcd.WatchResponse
            {
                Header = identity.Header(CurrentRevision()),
                WatchId = id ?? create.WatchId,
                Created = true,
                Canceled = true,
                CancelReason = refusal ?? $"start_revision is {create.StartRevision}; it must be 0 (from now on) or a revision.",
            }).ConfigureAwait(false);
            return;
        }

        var current = CurrentRevision();
        var start = create.StartRevision > 0 ? create.StartRevision : current + 1;
        await stream.SendAsync(new AspireKv.Etcd.WatchResponse { Header = identity.Header(current), WatchId = id!.Value, Created = true }).ConfigureAwait(false);
        stream.Start(id.Value, token => FollowAsync(stream, id.Value, create, range, start, token));
    }

    private async Task FollowAsync(WatchStream stream, long id, AspireKv.Etcd.WatchCreateRequest create, KeyRange range, long start, CancellationToken cancellationToken)
    {
        var noPut = create.Filters.Contains(AspireKv.Etcd.WatchCreateRequest.Types.FilterType.Noput);
        var noDelete = create.Filters.Contains(AspireKv.Etcd.WatchCreateRequest.Types.FilterType.Nodelete);
        try
        {
            await foreach (var revision in WatchFeed.FollowAsync(replica, range, start, cancellationToken).ConfigureAwait(false))
            {
                var response = new AspireKv.Etcd.WatchResponse { Header = identity.Header(revision.Revision), WatchId = id };
                foreach (var change in revision.Events)
                {
                    var isPut = change.Type == EventType.Put;
                    if (isPut ? noPut : noDelete)
                    {
                        continue;
                    }

                    response.Events.Add(new Mvcc.Event
                    {
                        Type = isPut ? Mvcc.Event.Types.EventType.Put : Mvcc.Event.Types.EventType.Delete,
                        Kv = EtcdCommands.KeyValue(change.Record),
                        PrevKv = create.PrevKv && change.Previous is { } previous ? EtcdCommands.KeyValue(previous) : null,
                    });
                }

                if (response.Events.Count > 0)
                {
                    await stream.SendAsync(response).ConfigureAwait(false);
                }
            }
        }
        catch (WatchCompactedException ex)
        {
            await stream.SendAsync(new AspireKv.Etcd.WatchResponse
            {
                Header = identity.Header(ex.Error.Revision),
                WatchId = id,
                Canceled = true,
                CompactRevision = ex.Error.CompactRevision,
                CancelReason = EtcdErrors.Compacted.Status.Detail,
            }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WatchStoppedException or ReplicaUnavailableException)
        {
            await stream.SendAsync(new AspireKv.Etcd.WatchResponse { Header = identity.Header(0), WatchId = id, Canceled = true, CancelReason = ex.Message }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // cancelled by the client, or the call ended
        }
    }

    /// <summary>One client stream: its watches, their ids, and one writer at a time on the response stream.</summary>
    private sealed class WatchStream(IServerStreamWriter<AspireKv.Etcd.WatchResponse> responses, CancellationToken callEnded) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _send = new(1, 1);
        private readonly Dictionary<long, (CancellationTokenSource Stop, Task Running)> _watches = [];
        private long _nextId;

        /// <summary>The id for a new watch: the one asked for, or the next free one; null when the one asked for is in use.</summary>
        public long? NewId(long asked)
        {
            lock (_watches)
            {
                if (asked != 0)
                {
                    return _watches.ContainsKey(asked) ? null : asked;
                }

                while (_watches.ContainsKey(_nextId))
                {
                    _nextId++;
                }

                return _nextId++;
            }
        }

        public void Start(long id, Func<CancellationToken, Task> follow)
        {
            var stop = CancellationTokenSource.CreateLinkedTokenSource(callEnded);
            lock (_watches)
            {
                _watches[id] = (stop, Task.Run(() => follow(stop.Token)));
            }
        }

        public bool Cancel(long id)
        {
            (CancellationTokenSource Stop, Task Running) watch;
            lock (_watches)
            {
                if (!_watches.Remove(id, out watch))
                {
                    return false;
                }
            }

            watch.Stop.Cancel();
            return true;
        }

        public async Task SendAsync(AspireKv.Etcd.WatchResponse response)
        {
            try
            {
                await _send.WaitAsync(callEnded).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return; // the client has gone
            }

            try
            {
                await responses.WriteAsync(response, callEnded).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or IOException)
            {
                // the client has gone; its watches stop with the call
            }
            finally
            {
                _send.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            List<(CancellationTokenSource Stop, Task Running)> watches;
            lock (_watches)
            {
                watches = [.. _watches.Values];
                _watches.Clear();
            }

            foreach (var (stop, _) in watches)
            {
                await stop.CancelAsync().ConfigureAwait(false);
            }

            foreach (var (stop, running) in watches)
            {
                try
                {
                    await running.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }

                stop.Dispose();
            }
        }
    }
}
