using System.Text.Json.Nodes;
using AspireKv.V1;

namespace AspireKv.Cli.Verbs;

/// <summary><c>history KEY</c> and <c>compact REV</c>: a key's past versions, and dropping the history before a revision.</summary>
internal static class HistoryVerbs
{
    public static async Task<int> HistoryAsync(CliContext context, string key, Consistency consistency)
    {
        var response = await context.CallAsync(c => c.HistoryAsync(key, consistency)).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(new JsonObject
            {
                ["key"] = key,
                ["events"] = new JsonArray([.. response.Events.Select(e => (JsonNode)Output.ToJson(e, e.Entry.ModRevision))]),
                ["compactRevision"] = response.CompactRevision,
                ["revision"] = response.Revision,
            });
        }
        else
        {
            foreach (var line in Lines(response, key))
            {
                context.Output.Line(line);
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary>A key's history as text, oldest first, saying how far back it goes.</summary>
    public static IEnumerable<string> Lines(HistoryResponse response, string key)
    {
        if (response.Events.Count == 0)
        {
            yield return $"(no changes to '{key}' in the history, which holds revisions {response.CompactRevision} to {response.Revision})";
            yield break;
        }

        foreach (var change in response.Events)
        {
            yield return Output.EventText(change, change.Entry.ModRevision);
        }
    }

    public static async Task<int> CompactAsync(CliContext context, long revision)
    {
        var response = await context.CallAsync(c => c.CompactAsync(revision)).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(new JsonObject { ["compactRevision"] = response.CompactRevision, ["revision"] = response.Revision });
        }
        else
        {
            context.Output.Line($"compacted revision {response.CompactRevision}");
        }

        return ExitCodes.Ok;
    }
}
