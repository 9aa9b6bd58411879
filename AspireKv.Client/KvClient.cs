using System.Runtime.CompilerServices;
using System.Text;
using AspireKv.Grpc;
using AspireKv.Grpc.Client;
using AspireKv.V1;
using Google.Protobuf;

namespace AspireKv.Client;

/// <summary>
/// A typed client of one AspireKv node. Every method takes an optional timeout (the deadline sent
/// to the node; <see cref="KvClientOptions.DefaultTimeout"/> when omitted) and a cancellation
/// token. A call that fails throws <see cref="RpcException"/>, whose <see cref="RpcException.StatusCode"/>
/// says why: INVALID_ARGUMENT for bad input, FAILED_PRECONDITION for a compare-and-set that did not
/// match, UNAVAILABLE when the node or its broker cannot be reached, DEADLINE_EXCEEDED when the
/// timeout passed.
/// </summary>
public sealed class KvClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly bool _ownsChannel;
    private readonly KvClientOptions _options;

    /// <summary>A client of the node at <paramref name="address"/> (<c>http://host:port</c> or <c>host:port</c>).</summary>
    public KvClient(string address, KvClientOptions? options = null)
        : this(GrpcChannel.ForAddress(address), options, ownsChannel: true)
    {
    }

    /// <summary>A client over an existing channel, which the caller keeps owning.</summary>
    public KvClient(GrpcChannel channel, KvClientOptions? options = null)
        : this(channel, options, ownsChannel: false)
    {
    }

    private KvClient(GrpcChannel channel, KvClientOptions? options, bool ownsChannel)
    {
        _channel = channel;
        _ownsChannel = ownsChannel;
        _options = options ?? new KvClientOptions();
    }

    public Uri Address => _channel.Address;

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
        CallAsync(KeyValueMethods.Put, request, timeout, cancellationToken);

    /// <summary>Reads a key; <see cref="GetResponse.Found"/> is false when it does not exist.</summary>
    public Task<GetResponse> GetAsync(string key, Consistency consistency = Consistency.Linearizable, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        GetAsync(new GetRequest { Key = key, Consistency = consistency }, timeout, cancellationToken);

    public Task<GetResponse> GetAsync(GetRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        CallAsync(KeyValueMethods.Get, request, timeout, cancellationToken);

    /// <summary>Reads a key's value as UTF-8 text, or null when the key does not exist.</summary>
    public async Task<string?> GetStringAsync(string key, Consistency consistency = Consistency.Linearizable, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var response = await GetAsync(key, consistency, timeout, cancellationToken).ConfigureAwait(false);
        return response.Found ? response.Entry.Value.ToStringUtf8() : null;
    }

    public Task<DeleteResponse> DeleteAsync(string key, bool prefix = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        DeleteAsync(new DeleteRequest { Key = key, Prefix = prefix }, timeout, cancellationToken);

    public Task<DeleteResponse> DeleteAsync(DeleteRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        CallAsync(KeyValueMethods.Delete, request, timeout, cancellationToken);

    /// <summary>One page of the keys under <see cref="ListRequest.Prefix"/>.</summary>
    public Task<ListResponse> ListAsync(ListRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        CallAsync(KeyValueMethods.List, request, timeout, cancellationToken);

    /// <summary>Every entry under <paramref name="prefix"/>, fetching pages of <paramref name="pageSize"/> as it goes.</summary>
    public async IAsyncEnumerable<Entry> ListAllAsync(
        string prefix = "", int pageSize = 1000, Consistency consistency = Consistency.Linearizable, bool keysOnly = false,
        TimeSpan? timeout = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = new ListRequest { Prefix = prefix, Limit = pageSize, Consistency = consistency, KeysOnly = keysOnly };
        while (true)
        {
            var page = await ListAsync(request, timeout, cancellationToken).ConfigureAwait(false);
            foreach (var entry in page.Entries)
            {
                yield return entry;
            }

            if (string.IsNullOrEmpty(page.Continuation))
            {
                yield break;
            }

            request.Continuation = page.Continuation;
        }
    }

    public Task<StatusResponse> StatusAsync(bool includeStateHash = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        CallAsync(KeyValueMethods.Status, new StatusRequest { IncludeStateHash = includeStateHash }, timeout, cancellationToken);

    public void Dispose()
    {
        if (_ownsChannel)
        {
            _channel.Dispose();
        }
    }

    private Task<TResponse> CallAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var effective = timeout ?? _options.DefaultTimeout;
        var deadline = effective is { } t && t != Timeout.InfiniteTimeSpan ? DateTime.UtcNow + t : (DateTime?)null;
        return _channel.AsyncUnaryCall(method, request, new CallOptions(null, deadline, cancellationToken)).ResponseAsync;
    }
}

/// <summary>Settings of a <see cref="KvClient"/>.</summary>
public sealed class KvClientOptions
{
    /// <summary>The deadline of a call that gives none; <see cref="Timeout.InfiniteTimeSpan"/> or null for none.</summary>
    public TimeSpan? DefaultTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Metadata names of the KeyValue contract.</summary>
public static class KvMetadata
{
    /// <summary>On a failed compare-and-set: the key's actual mod_revision (0 when it does not exist).</summary>
    public const string CurrentModRevisionTrailer = "aspirekv-current-mod-revision";
}
