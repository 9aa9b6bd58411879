using AspireKv.Client;
using AspireKv.Hosting.AppModel;
using AspireKv.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace AspireKv.Hosting.Dashboard;

/// <summary>
/// The dashboard's key browser: a node's keys under a prefix, and a key's history. It reads
/// serializably, as the node has applied the log, so that it still shows the keys while the
/// broker is down; each answer says which node and revision it speaks for.
/// </summary>
internal sealed class KeyBrowser(DistributedApplication app, NodeClients clients)
{
    private const int MaxKeys = 500;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<IResult> ListAsync(string? node, string? prefix, CancellationToken cancellationToken)
    {
        return await CallAsync(node, async (name, client) =>
        {
            var response = await client.ListAsync(new ListRequest { Prefix = prefix ?? string.Empty, Limit = MaxKeys, Consistency = Consistency.Serializable }, Timeout, cancellationToken).ConfigureAwait(false);
            return new
            {
                node = name,
                revision = response.Revision,
                more = !string.IsNullOrEmpty(response.Continuation),
                entries = response.Entries.Select(e => new { key = e.Key, value = ValueText.Display(e.Value), version = e.Version, createRevision = e.CreateRevision, modRevision = e.ModRevision, lease = e.Lease == 0 ? null : e.Lease.ToString("x16", System.Globalization.CultureInfo.InvariantCulture) }),
            };
        }).ConfigureAwait(false);
    }

    public async Task<IResult> HistoryAsync(string? node, string? key, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(key))
        {
            return Results.BadRequest(new { error = "Say which key: ?key=..." });
        }

        return await CallAsync(node, async (name, client) =>
        {
            var response = await client.HistoryAsync(key, Consistency.Serializable, Timeout, cancellationToken).ConfigureAwait(false);
            return new
            {
                node = name,
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

    /// <summary>Calls the named node, or the first running one; a node's error becomes a 502 with its status and message.</summary>
    private async Task<IResult> CallAsync<T>(string? node, Func<string, KvClient, Task<T>> call)
    {
        var nodes = app.Resources.Where(r => r.Type == "node" && r.Endpoints.ContainsKey("grpc")).ToList();
        var resource = string.IsNullOrEmpty(node)
            ? nodes.FirstOrDefault(r => r.State == ResourceState.Running) ?? nodes.FirstOrDefault()
            : nodes.FirstOrDefault(r => string.Equals(r.Name, node, StringComparison.OrdinalIgnoreCase));
        if (resource is null)
        {
            return Results.NotFound(new { error = string.IsNullOrEmpty(node) ? "This application has no nodes." : $"There is no node '{node}'; the nodes are {string.Join(", ", nodes.Select(n => n.Name))}." });
        }

        try
        {
            return Results.Json(await call(resource.Name, clients.For(resource.Endpoints["grpc"])).ConfigureAwait(false));
        }
        catch (RpcException ex)
        {
            return Results.Json(new { node = resource.Name, error = $"{ex.StatusCode}: {ex.Status.Detail}" }, statusCode: StatusCodes.Status502BadGateway);
        }
    }
}
