using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using AspireKv.Client;
using AspireKv.Client.Discovery;
using AspireKv.Node.Hosting;
using AspireKv.Node.Replication;
using AspireKv.Node.Replication.RabbitMq;
using AspireKv.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AspireKv.Node.Pages;

/// <summary>
/// What the Aspire dashboard has no page for, served by every node on its HTTP endpoint and linked
/// from its resource: <c>/replication</c> (the stream: its leading broker, its members and its
/// length; every node's applied offset, lag and last snapshot) and <c>/keys</c> (this node's keys
/// under a prefix, and a key's history). Both read serializably, as the nodes have applied the log,
/// so that they still answer while the broker is down.
/// </summary>
internal static class NodePages
{
    private const int MaxKeys = 500;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);
    private static readonly HttpClient Management = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(3) };
    private static readonly ConcurrentDictionary<string, KvClient> Clients = new();
    private static readonly ConcurrentDictionary<string, (DateTimeOffset At, StatusResponse Status)> LastSeen = new();

    public static void MapNodePages(this WebApplication app)
    {
        app.MapGet("/replication", () => Page("replication.html"));
        app.MapGet("/keys", () => Page("keys.html"));
        app.MapGet("/pages/{file}", (string file) => Page(file));
        app.MapGet("/api/replication", DescribeReplicationAsync);
        app.MapGet("/api/keys", ListKeysAsync);
        app.MapGet("/api/keys/history", KeyHistoryAsync);
    }

    /// <summary>A page, or the stylesheet and script both pages share, as the build embedded them.</summary>
    private static IResult Page(string name) =>
        typeof(NodePages).Assembly.GetManifestResourceStream($"pages/{name}") is { } stream
            ? Results.Stream(stream, Path.GetExtension(name) switch { ".css" => "text/css; charset=utf-8", ".js" => "text/javascript; charset=utf-8", _ => "text/html; charset=utf-8" })
            : Results.NotFound();

    private static async Task<IResult> DescribeReplicationAsync(IConfiguration configuration, IOptions<NodeOptions> node, IOptions<ReplicationOptions> replication, CancellationToken cancellationToken)
    {
        var nodes = ConfiguredServices.List(configuration);
        var statuses = await Task.WhenAll(nodes.Select(n => StatusAsync(n, cancellationToken))).ConfigureAwait(false);
        var stream = await StreamAsync(configuration, replication.Value, cancellationToken).ConfigureAwait(false);
        var last = statuses.Where(s => s.Status is not null).Select(s => s.Status!.AppliedLogOffset).DefaultIfEmpty(-1).Max();
        return Results.Json(new
        {
            node = node.Value.Id,
            stream,
            lastAppliedOffset = last,
            nodes = statuses.Select(s => s.Status is not { } status
                ? (object)new { name = s.Name, health = "Unknown", detail = s.Error }
                : new
                {
                    name = s.Name,
                    health = status.Health switch
                    {
                        NodeHealth.Serving => "Serving",
                        NodeHealth.Degraded => "Degraded",
                        NodeHealth.Starting => "Starting",
                        _ => "NotServing",
                    },
                    detail = s.Error is null ? status.HealthDetail : $"{s.Error}; offsets as last seen at {s.At:HH:mm:ss} UTC",
                    appliedOffset = status.AppliedLogOffset,
                    appliedRevision = status.AppliedRevision,
                    lag = Math.Max(0, last - status.AppliedLogOffset),
                    broker = status.Broker,
                    lastSnapshot = status.LastSnapshot is { } snapshot
                        ? new { appliedOffset = snapshot.AppliedLogOffset, revision = snapshot.Revision, writtenUnixMs = snapshot.WrittenUnixMs, sizeBytes = snapshot.SizeBytes, source = snapshot.Source }
                        : null,
                }),
        });
    }

    /// <summary>A node's Status now; for one that does not answer (paused, stopped), as last seen, with why.</summary>
    private static async Task<(string Name, StatusResponse? Status, string? Error, DateTimeOffset At)> StatusAsync(ServiceEndpoint node, CancellationToken cancellationToken)
    {
        try
        {
            var status = await Client(node.Address).StatusAsync(timeout: CallTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            LastSeen[node.Service] = (DateTimeOffset.UtcNow, status);
            return (node.Service, status, null, DateTimeOffset.UtcNow);
        }
        catch (RpcException ex)
        {
            var error = $"{ex.StatusCode}: {ex.Status.Detail}";
            return LastSeen.TryGetValue(node.Service, out var seen) ? (node.Service, seen.Status, error, seen.At) : (node.Service, null, error, default);
        }
    }

    /// <summary>The stream as a broker's management API describes it: its leader, members and length.</summary>
    private static async Task<object> StreamAsync(IConfiguration configuration, ReplicationOptions replication, CancellationToken cancellationToken)
    {
        var managements = ConfiguredServices.List(configuration, "management");
        var connectionString = configuration.GetConnectionString(replication.ConnectionName);
        if (managements.Count == 0 || string.IsNullOrEmpty(connectionString))
        {
            return new { name = replication.Stream, error = "No broker management API is configured (services:<broker>:management), so the stream is not shown." };
        }

        var broker = BrokerAddresses.Parse(connectionString, replication.ConnectionName).First;
        var vhost = broker.AbsolutePath is { Length: > 1 } path ? Uri.UnescapeDataString(path[1..]) : "/";
        var credentials = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Uri.UnescapeDataString(broker.UserInfo)));
        var errors = new List<string>();
        foreach (var management in managements)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(management.Address, $"/api/queues/{Uri.EscapeDataString(vhost)}/{Uri.EscapeDataString(replication.Stream)}"));
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", credentials);
                using var response = await Management.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    errors.Add($"{management.Service} answered {(int)response.StatusCode}");
                    continue;
                }

                using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
                var queue = document.RootElement;
                return new
                {
                    name = replication.Stream,
                    leader = Text(queue, "leader") ?? Text(queue, "node"),
                    members = Texts(queue, "members"),
                    online = Texts(queue, "online"),
                    messages = queue.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Number ? messages.GetInt64() : (long?)null,
                    source = management.Service,
                };
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
            {
                errors.Add($"{management.Service}: {ex.Message}");
            }
        }

        return new { name = replication.Stream, error = $"No broker described the stream: {string.Join("; ", errors)}" };
    }

    private static async Task<IResult> ListKeysAsync(IConfiguration configuration, IOptions<NodeOptions> node, string? prefix, CancellationToken cancellationToken) =>
        await CallSelfAsync(configuration, node.Value, async client =>
        {
            var response = await client.ListAsync(new ListRequest { Prefix = prefix ?? string.Empty, Limit = MaxKeys, Consistency = Consistency.Serializable }, CallTimeout, cancellationToken).ConfigureAwait(false);
            return new
            {
                node = node.Value.Id,
                revision = response.Revision,
                more = !string.IsNullOrEmpty(response.Continuation),
                entries = response.Entries.Select(e => new { key = e.Key, value = ValueText.Display(e.Value), version = e.Version, createRevision = e.CreateRevision, modRevision = e.ModRevision, lease = e.Lease == 0 ? null : e.Lease.ToString("x16", CultureInfo.InvariantCulture) }),
            };
        }).ConfigureAwait(false);

    private static async Task<IResult> KeyHistoryAsync(IConfiguration configuration, IOptions<NodeOptions> node, string? key, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(key))
        {
            return Results.BadRequest(new { error = "Say which key: ?key=..." });
        }

        return await CallSelfAsync(configuration, node.Value, async client =>
        {
            var response = await client.HistoryAsync(key, Consistency.Serializable, CallTimeout, cancellationToken).ConfigureAwait(false);
            return new
            {
                node = node.Value.Id,
                key,
                revision = response.Revision,
                compactRevision = response.CompactRevision,
                events = response.Events.Select(e => new
                {
                    type = e.Type == Event.Types.Type.Put ? "PUT" : "DELETE",
                    revision = e.Entry.ModRevision,
                    value = e.Type == Event.Types.Type.Put ? ValueText.Display(e.Entry.Value) : null,
                    version = e.Entry.Version,
                    previous = e.Previous is { } previous ? ValueText.Display(previous.Value) : null,
                }),
            };
        }).ConfigureAwait(false);
    }

    /// <summary>Calls this node's own gRPC endpoint, as any client would; its error becomes a 502 with the status and message.</summary>
    private static async Task<IResult> CallSelfAsync<T>(IConfiguration configuration, NodeOptions node, Func<KvClient, Task<T>> call)
    {
        var self = ConfiguredServices.List(configuration).FirstOrDefault(s => s.Service == node.Id)?.Address
            ?? (configuration["Kestrel:Endpoints:grpc:Url"] is { } url ? new Uri(url.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)) : null);
        if (self is null)
        {
            return Results.Json(new { node = node.Id, error = "This node does not know its own gRPC address (services:<node>:grpc or Kestrel:Endpoints:grpc:Url)." }, statusCode: StatusCodes.Status500InternalServerError);
        }

        try
        {
            return Results.Json(await call(Client(self)).ConfigureAwait(false));
        }
        catch (RpcException ex)
        {
            return Results.Json(new { node = node.Id, error = $"{ex.StatusCode}: {ex.Status.Detail}" }, statusCode: StatusCodes.Status502BadGateway);
        }
    }

    private static KvClient Client(Uri address) => Clients.GetOrAdd(address.ToString(), a => new KvClient(a));

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string[] Texts(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray().Select(v => v.GetString() ?? string.Empty)] : [];
}
