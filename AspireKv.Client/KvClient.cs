using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using AspireKv.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace AspireKv.Client;

/// <summary>
/// A typed client of one AspireKv node: a thin convenience over the generated
/// <see cref="KeyValue.KeyValueClient"/>. Every method takes an optional timeout (the deadline sent
/// to the node; <see cref="KvClientOptions.DefaultTimeout"/> when omitted) and a cancellation
/// token. A call that fails throws <see cref="RpcException"/>, whose <see cref="RpcException.StatusCode"/>
/// says why: INVALID_ARGUMENT for bad input, FAILED_PRECONDITION for a compare-and-set that did not
/// match, UNAVAILABLE when the node or its broker cannot be reached, DEADLINE_EXCEEDED when the
/// timeout passed.
/// </summary>
public sealed class KvClient : IDisposable
{
    private readonly GrpcChannel? _ownedChannel;
    private readonly KvClientOptions _options;

    /// <summary>A client of the node at <paramref name="address"/> (<c>http://host:port</c> or <c>host:port</c>), over a channel of its own.</summary>
    public KvClient(string address, KvClientOptions? options = null)
    {
        _options = options ?? new KvClientOptions();
        Address = ParseAddress(address);
        _ownedChannel = CreateChannel(Address, _options);
        Grpc = new KeyValue.KeyValueClient(_ownedChannel);
    }

    /// <summary>A client over a generated client (for example one from <c>AddKeyValueClient</c>), which the caller keeps owning.</summary>
    public KvClient(KeyValue.KeyValueClient client, KvClientOptions? options = null)
    {
        _options = options ?? new KvClientOptions();
        Grpc = client;
    }

    /// <summary>The generated client underneath, for calls and options this type does not wrap.</summary>
    public KeyValue.KeyValueClient Grpc { get; }

    /// <summary>The channel this client made, for the node's other services (etcd's Auth, for example), which then call as the same user; null for a client over a generated client.</summary>
    public GrpcChannel? Channel => _ownedChannel;

    /// <summary>The node's address, when this client made its own channel.</summary>
    public Uri? Address { get; }

    /// <summary>
    /// A gRPC channel to a node: cleartext HTTP/2 with prior knowledge (h2c), no HTTP proxy (nodes
    /// are reached directly), and a fresh connection attempt by any call made while the node is
    /// unreachable, so a node that restarts is reachable again at once.
    /// </summary>
    public static GrpcChannel CreateChannel(Uri address, KvClientOptions? options = null)
    {
        options ??= new KvClientOptions();
        var tokens = options.Credentials is { } credentials ? new KvTokenSource(credentials) : null;
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            // Not a SocketsHttpHandler: with one, grpc-dotnet keeps a subchannel per address that,
            // once a connect has failed, fails every call fast until its backoff (up to two
            // minutes) has passed, even after the node is back. A client of one node should simply
            // try to connect on each call, as HttpClient does.
            HttpHandler = new HttpClientHandler { UseProxy = false },
            MaxReceiveMessageSize = options.MaxReceiveMessageSize,
            DisposeHttpClient = true,
            // A user's token on every call. On cleartext (h2c) too, as etcd sends it: plaintext is
            // for loopback, and docs/security.md says what travels in clear.
            Credentials = tokens is null ? null : ChannelCredentials.Create(address.Scheme == "https" ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, tokens.CallCredentials),
            UnsafeUseInsecureChannelCallCredentials = tokens is not null,
        });
        tokens?.Attach(channel);
        return channel;
    }

    /// <summary>Whether a failed call never reached a node: the connection could not be made, so nothing was done.</summary>
    public static bool NeverReachedNode(RpcException error) =>
        error.StatusCode == StatusCode.Unavailable
        && (error.Status.DebugException is SocketException { } direct ? IsConnectFailure(direct)
            : error.Status.DebugException is HttpRequestException { InnerException: SocketException inner } && IsConnectFailure(inner));

    private static bool IsConnectFailure(SocketException error) => error.SocketErrorCode is
        SocketError.ConnectionRefused or SocketError.TimedOut or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostNotFound;

    /// <summary>Reads an address as people type it: <c>http://host:port</c>, or <c>host:port</c> for cleartext gRPC.</summary>
    public static Uri ParseAddress(string address)
    {
        var text = address.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host)
            || uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query))
        {
            throw new ArgumentException($"'{address}' is not a node address; write it as host:port or http://host:port.", nameof(address));
        }

        return new Uri($"{uri.Scheme}://{uri.Authority}");
    }

    public Task<PutResponse> PutAsync(string key, string value, long? expectedModRevision = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        PutAsync(key, Encoding.UTF8.GetBytes(value), expectedModRevision, timeout, cancellationToken);

    public Task<PutResponse> PutAsync(string key, ReadOnlySpan<byte> value, long? expectedModRevision = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var request = new PutRequest { Key = key, Value = ByteString.CopyFrom(value) };
        if (expectedModRevision is { } expected)
        {
            request.ExpectedModRevision = expected;
        }

        return PutAsync(request, timeout, cancellationToken);
    }

    public Task<PutResponse> PutAsync(PutRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.PutAsync(request, Options(timeout, cancellationToken)).ResponseAsync;

    /// <summary>Reads a key; <see cref="GetResponse.Found"/> is false when it does not exist.</summary>
    public Task<GetResponse> GetAsync(string key, Consistency consistency = Consistency.Linearizable, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        GetAsync(new GetRequest { Key = key, Consistency = consistency }, timeout, cancellationToken);

    public Task<GetResponse> GetAsync(GetRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.GetAsync(request, Options(timeout, cancellationToken)).ResponseAsync;

    /// <summary>Reads a key's value as UTF-8 text, or null when the key does not exist.</summary>
    public async Task<string?> GetStringAsync(string key, Consistency consistency = Consistency.Linearizable, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var response = await GetAsync(key, consistency, timeout, cancellationToken).ConfigureAwait(false);
        return response.Found ? response.Entry.Value.ToStringUtf8() : null;
    }

    public Task<DeleteResponse> DeleteAsync(string key, bool prefix = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        DeleteAsync(new DeleteRequest { Key = key, Prefix = prefix }, timeout, cancellationToken);

    public Task<DeleteResponse> DeleteAsync(DeleteRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.DeleteAsync(request, Options(timeout, cancellationToken)).ResponseAsync;

    /// <summary>One page of the keys under <see cref="ListRequest.Prefix"/>.</summary>
    public Task<ListResponse> ListAsync(ListRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.ListAsync(request, Options(timeout, cancellationToken)).ResponseAsync;

    /// <summary>
    /// The pages of <paramref name="request"/>, one after the other, each fetched with the
    /// continuation of the one before, until the last. Each page is consistent at its own revision.
    /// </summary>
    public async IAsyncEnumerable<ListResponse> ListPagesAsync(
        ListRequest request, TimeSpan? timeout = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var next = request.Clone();
        while (true)
        {
            var page = await ListAsync(next, timeout, cancellationToken).ConfigureAwait(false);
            yield return page;
            if (string.IsNullOrEmpty(page.Continuation))
            {
                yield break;
            }

            next.Continuation = page.Continuation;
        }
    }

    /// <summary>Every entry under <paramref name="prefix"/>, fetching pages of <paramref name="pageSize"/> as it goes.</summary>
    public async IAsyncEnumerable<Entry> ListAllAsync(
        string prefix = "", int pageSize = 1000, Consistency consistency = Consistency.Linearizable, bool keysOnly = false,
        TimeSpan? timeout = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = new ListRequest { Prefix = prefix, Limit = pageSize, Consistency = consistency, KeysOnly = keysOnly };
        await foreach (var page in ListPagesAsync(request, timeout, cancellationToken).ConfigureAwait(false))
        {
            foreach (var entry in page.Entries)
            {
                yield return entry;
            }
        }
    }

    /// <summary>Runs a transaction: its compares, then its success or failure operations, at one revision.</summary>
    public Task<TxnResponse> TxnAsync(TxnRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.TxnAsync(request, Options(timeout, cancellationToken)).ResponseAsync;

    /// <summary>
    /// The changes to a key or prefix from a revision on, one response per revision, until
    /// <paramref name="cancellationToken"/> is cancelled. It has no deadline. It ends with an
    /// <see cref="RpcException"/>: OUT_OF_RANGE when the start revision is compacted,
    /// RESOURCE_EXHAUSTED when the node stopped a watcher that fell behind, UNAVAILABLE when the
    /// node went away; watch again from the revision after the last one received.
    /// </summary>
    public async IAsyncEnumerable<WatchResponse> WatchAsync(WatchRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var call = Grpc.Watch(request, new CallOptions(cancellationToken: cancellationToken));
        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return response;
        }
    }

    /// <summary>A key's past changes that the node's history still holds, oldest first.</summary>
    public Task<HistoryResponse> HistoryAsync(string key, Consistency consistency = Consistency.Linearizable, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.HistoryAsync(new HistoryRequest { Key = key, Consistency = consistency }, Options(timeout, cancellationToken)).ResponseAsync;

    /// <summary>Drops the history before <paramref name="revision"/>.</summary>
    public Task<CompactResponse> CompactAsync(long revision, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.CompactAsync(new CompactRequest { Revision = revision }, Options(timeout, cancellationToken)).ResponseAsync;

    /// <summary>Grants a lease of <paramref name="ttl"/> (whole seconds, at least one); <paramref name="id"/> 0 lets the node choose.</summary>
    public Task<LeaseGrantResponse> LeaseGrantAsync(TimeSpan ttl, long id = 0, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.LeaseGrantAsync(new LeaseGrantRequest { TtlSeconds = Math.Max(1, (long)Math.Ceiling(ttl.TotalSeconds)), Id = id }, Options(timeout, cancellationToken)).ResponseAsync;

    public Task<LeaseRevokeResponse> LeaseRevokeAsync(long id, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.LeaseRevokeAsync(new LeaseRevokeRequest { Id = id }, Options(timeout, cancellationToken)).ResponseAsync;

    public Task<LeaseKeepAliveResponse> LeaseKeepAliveAsync(long id, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.LeaseKeepAliveAsync(new LeaseKeepAliveRequest { Id = id }, Options(timeout, cancellationToken)).ResponseAsync;

    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(long id, bool keys = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { Id = id, Keys = keys }, Options(timeout, cancellationToken)).ResponseAsync;

    public Task<LeaseListResponse> LeaseListAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.LeaseListAsync(new LeaseListRequest(), Options(timeout, cancellationToken)).ResponseAsync;

    /// <summary>
    /// Takes the lock <paramref name="name"/>, waiting until it is free: see <see cref="KvLock"/>.
    /// The lock is held by a lease of <paramref name="ttl"/> (10 s by default), kept alive while
    /// it is held; if this process dies, the lock is free again once the lease expires.
    /// </summary>
    public Task<KvLock> LockAsync(string name, TimeSpan? ttl = null, CancellationToken cancellationToken = default) =>
        KvLock.AcquireAsync(this, name, ttl ?? TimeSpan.FromSeconds(10), cancellationToken);

    public Task<StatusResponse> StatusAsync(bool includeStateHash = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Grpc.StatusAsync(new StatusRequest { IncludeStateHash = includeStateHash }, Options(timeout, cancellationToken)).ResponseAsync;

    public void Dispose() => _ownedChannel?.Dispose();

    private CallOptions Options(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var effective = timeout ?? _options.DefaultTimeout;
        DateTime? deadline = effective is { } t && t != Timeout.InfiniteTimeSpan ? DateTime.UtcNow + t : null;
        return new CallOptions(deadline: deadline, cancellationToken: cancellationToken);
    }
}

/// <summary>Settings of a <see cref="KvClient"/>.</summary>
public sealed class KvClientOptions
{
    /// <summary>The deadline of a call that gives none; <see cref="Timeout.InfiniteTimeSpan"/> or null for none.</summary>
    public TimeSpan? DefaultTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest response the client accepts, in bytes (a List page is at most about 3 MiB).</summary>
    public int MaxReceiveMessageSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>The user to call as when the cluster has auth enabled; null for none (auth off).</summary>
    public KvCredentials? Credentials { get; set; }
}

/// <summary>Metadata names of the KeyValue contract.</summary>
public static class KvMetadata
{
    /// <summary>On a failed compare-and-set: the key's actual mod_revision (0 when it does not exist).</summary>
    public const string CurrentModRevisionTrailer = "aspirekv-current-mod-revision";

    /// <summary>
    /// On an UNAVAILABLE that the node answered before doing anything ("true"): the write was not
    /// applied and may be retried as it is. Without it, an UNAVAILABLE or DEADLINE_EXCEEDED write
    /// may or may not have been applied.
    /// </summary>
    public const string RefusedTrailer = "aspirekv-refused";

    /// <summary>On an OUT_OF_RANGE for a revision that was compacted (or is in the future): the oldest revision the node serves.</summary>
    public const string CompactRevisionTrailer = "aspirekv-compact-revision";

    /// <summary>On an OUT_OF_RANGE for a revision: the store's revision then.</summary>
    public const string RevisionTrailer = "aspirekv-revision";

    /// <summary>Whether the node said the call was refused before anything was done (see <see cref="RefusedTrailer"/>).</summary>
    public static bool WasRefused(Grpc.Core.RpcException error) => error.Trailers.GetValue(RefusedTrailer) == "true";
}
