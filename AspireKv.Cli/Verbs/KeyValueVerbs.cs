using System.Text.Json.Nodes;
using AspireKv.V1;
using Google.Protobuf;

namespace AspireKv.Cli.Verbs;

/// <summary>The one-shot verbs: put, get, del, list.</summary>
internal static class KeyValueVerbs
{
    public static async Task<int> PutAsync(CliContext context, string key, byte[] value, long? ifRevision, long lease)
    {
        var request = new PutRequest { Key = key, Value = ByteString.CopyFrom(value), Lease = lease };
        if (ifRevision is { } expected)
        {
            request.ExpectedModRevision = expected;
        }

        var response = await context.CallAsync(c => c.PutAsync(request)).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(new JsonObject { ["key"] = key, ["revision"] = response.Revision, ["node"] = context.Target.Name });
        }
        else
        {
            context.Output.Line($"OK (revision {response.Revision})");
        }

        return ExitCodes.Ok;
    }

    public static async Task<int> GetAsync(CliContext context, string key, Consistency consistency)
    {
        var response = await context.CallAsync(c => c.GetAsync(key, consistency)).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            var json = response.Found ? Output.ToJson(response.Entry) : new JsonObject { ["key"] = key };
            json["found"] = response.Found;
            json["revision"] = response.Revision;
            context.Output.Json(json);
        }
        else if (response.Found)
        {
            context.Output.Line(Output.ValueText(response.Entry));
        }
        else
        {
            context.Output.Error.WriteLine($"key '{key}' not found (at revision {response.Revision})");
        }

        return response.Found ? ExitCodes.Ok : ExitCodes.NotFound;
    }

    public static async Task<int> DeleteAsync(CliContext context, string key, bool prefix)
    {
        var response = await context.CallAsync(c => c.DeleteAsync(key, prefix)).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(new JsonObject { ["deleted"] = response.Deleted, ["revision"] = response.Revision });
        }
        else
        {
            context.Output.Line($"deleted {response.Deleted}");
        }

        return ExitCodes.Ok;
    }

    /// <summary>Lists keys under a prefix: one page of <paramref name="limit"/>, or every page when the limit is 0.</summary>
    public static async Task<int> ListAsync(CliContext context, string prefix, int limit, bool keysOnly, Consistency consistency)
    {
        var request = new ListRequest { Prefix = prefix, Limit = limit > 0 ? limit : 1000, Consistency = consistency, KeysOnly = keysOnly };
        var entries = new List<Entry>();
        var page = await context.CallAsync(async client =>
        {
            entries.Clear();
            ListResponse last = new();
            await foreach (var next in client.ListPagesAsync(request).ConfigureAwait(false))
            {
                entries.AddRange(next.Entries);
                last = next;
                if (limit > 0)
                {
                    break; // one page of the limit the user asked for
                }
            }

            return last;
        }).ConfigureAwait(false);

        if (context.Output.Format == OutputFormat.Json)
        {
            var json = new JsonObject
            {
                ["entries"] = new JsonArray([.. entries.Select(e => (JsonNode)Output.ToJson(e))]),
                ["revision"] = page.Revision,
            };
            if (!string.IsNullOrEmpty(page.Continuation))
            {
                json["continuation"] = page.Continuation;
            }

            context.Output.Json(json);
        }
        else
        {
            foreach (var entry in entries)
            {
                context.Output.Line(keysOnly ? entry.Key : $"{entry.Key}={Output.ValueText(entry)}");
            }

            if (limit > 0 && !string.IsNullOrEmpty(page.Continuation))
            {
                context.Output.Error.WriteLine($"(more keys follow; showing the first {limit})");
            }
        }

        return ExitCodes.Ok;
    }
}
