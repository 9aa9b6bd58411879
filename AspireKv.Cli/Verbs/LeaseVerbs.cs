using System.Text.Json.Nodes;
using AspireKv.Cli.Coordination;
using AspireKv.V1;
using Grpc.Core;

namespace AspireKv.Cli.Verbs;

/// <summary><c>lease grant|keepalive|revoke|ttl|list</c>, printed as etcdctl prints them; lease ids are hexadecimal.</summary>
internal static class LeaseVerbs
{
    public static async Task<int> GrantAsync(CliContext context, TimeSpan ttl)
    {
        var response = await context.CallAsync(c => c.LeaseGrantAsync(ttl)).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(new JsonObject { ["id"] = LeaseIds.Format(response.Id), ["ttlSeconds"] = response.TtlSeconds, ["revision"] = response.Revision });
        }
        else
        {
            context.Output.Line($"lease {LeaseIds.Format(response.Id)} granted with TTL({response.TtlSeconds}s)");
        }

        return ExitCodes.Ok;
    }

    public static async Task<int> RevokeAsync(CliContext context, long id)
    {
        var response = await context.CallAsync(c => c.LeaseRevokeAsync(id)).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(new JsonObject { ["id"] = LeaseIds.Format(id), ["deleted"] = response.Deleted, ["revision"] = response.Revision });
        }
        else
        {
            context.Output.Line($"lease {LeaseIds.Format(id)} revoked (deleted {response.Deleted} keys)");
        }

        return ExitCodes.Ok;
    }

    /// <summary>Keeps a lease alive every third of its TTL until Ctrl+C (or once); exit code 1 when the lease has expired or been revoked.</summary>
    public static async Task<int> KeepAliveAsync(CliContext context, long id, bool once, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                LeaseKeepAliveResponse response;
                try
                {
                    response = await context.CallAsync(c => c.LeaseKeepAliveAsync(id, cancellationToken: stop)).ConfigureAwait(false);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                {
                    context.Output.Fail($"lease {LeaseIds.Format(id)} expired or was revoked");
                    return ExitCodes.NotFound;
                }

                if (context.Output.Format == OutputFormat.Json)
                {
                    context.Output.JsonLine(new JsonObject { ["id"] = LeaseIds.Format(id), ["ttlSeconds"] = response.TtlSeconds });
                }
                else
                {
                    context.Output.Line($"lease {LeaseIds.Format(id)} keepalived with TTL({response.TtlSeconds})");
                    context.Output.Out.Flush();
                }

                if (once)
                {
                    return ExitCodes.Ok;
                }

                await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, response.TtlSeconds) / 3.0), stop).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            return ExitCodes.Ok; // Ctrl+C; the lease runs out on its own
        }
    }

    public static async Task<int> TimeToLiveAsync(CliContext context, long id, bool keys)
    {
        var response = await context.CallAsync(c => c.LeaseTimeToLiveAsync(id, keys)).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(ToJson(response, keys));
        }
        else
        {
            context.Output.Line(Text(response, keys));
        }

        return ExitCodes.Ok;
    }

    public static async Task<int> ListAsync(CliContext context)
    {
        var response = await context.CallAsync(c => c.LeaseListAsync()).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(new JsonObject { ["leases"] = new JsonArray([.. response.Leases.Select(l => (JsonNode)ToJson(l, keys: false))]) });
            return ExitCodes.Ok;
        }

        context.Output.Line($"found {response.Leases.Count} leases");
        foreach (var lease in response.Leases)
        {
            context.Output.Line(Text(lease, keys: false));
        }

        return ExitCodes.Ok;
    }

    private static string Text(LeaseTimeToLiveResponse lease, bool keys)
    {
        var text = $"lease {LeaseIds.Format(lease.Id)} granted with TTL({lease.GrantedTtlSeconds}s), remaining({lease.TtlSeconds}s)";
        return keys ? $"{text}, attached keys([{string.Join(' ', lease.Keys)}])" : text;
    }

    private static JsonObject ToJson(LeaseTimeToLiveResponse lease, bool keys)
    {
        var json = new JsonObject { ["id"] = LeaseIds.Format(lease.Id), ["ttlSeconds"] = lease.TtlSeconds, ["grantedTtlSeconds"] = lease.GrantedTtlSeconds };
        if (keys)
        {
            json["keys"] = new JsonArray([.. lease.Keys.Select(k => (JsonNode)k)]);
        }

        return json;
    }
}
