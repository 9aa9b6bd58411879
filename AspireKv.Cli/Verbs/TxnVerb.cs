using System.Text.Json.Nodes;
using AspireKv.Cli.Coordination;
using AspireKv.V1;
using Google.Protobuf;

namespace AspireKv.Cli.Verbs;

/// <summary>
/// <c>txn</c>: a transaction read from stdin in etcdctl's syntax (compares, a blank line, success
/// requests, a blank line, failure requests), or from a JSON file in the JSON form of
/// <c>aspirekv.v1.TxnRequest</c>. Prints the branch that ran and each operation's result.
/// </summary>
internal static class TxnVerb
{
    public static async Task<int> RunAsync(CliContext context, TextReader stdin, bool interactive, string? file)
    {
        var request = file is null
            ? TxnScript.Parse(stdin, interactive ? prompt => context.Output.Error.WriteLine(prompt) : null)
            : FromJson(file);
        var response = await context.CallAsync(c => c.TxnAsync(request)).ConfigureAwait(false);
        if (context.Output.Format == OutputFormat.Json)
        {
            context.Output.Json(new JsonObject
            {
                ["succeeded"] = response.Succeeded,
                ["revision"] = response.Revision,
                ["responses"] = new JsonArray([.. response.Responses.Select(r => (JsonNode)ToJson(r))]),
            });
            return ExitCodes.Ok;
        }

        context.Output.Line($"{(response.Succeeded ? "SUCCESS" : "FAILURE")} (revision {response.Revision})");
        foreach (var line in response.Responses.SelectMany(Text))
        {
            context.Output.Line(line);
        }

        return ExitCodes.Ok;
    }

    private static TxnRequest FromJson(string file)
    {
        try
        {
            return JsonParser.Default.Parse<TxnRequest>(File.ReadAllText(file));
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new CliException(ExitCodes.Usage, $"'{file}' is not a transaction in the JSON form of aspirekv.v1.TxnRequest (bytes such as values are base64): {ex.Message}");
        }
        catch (InvalidJsonException ex)
        {
            throw new CliException(ExitCodes.Usage, $"'{file}' is not JSON: {ex.Message}");
        }
        catch (IOException ex)
        {
            throw new CliException(ExitCodes.Usage, $"could not read '{file}': {ex.Message}");
        }
    }

    private static IEnumerable<string> Text(ResponseOp response) => response.ResponseCase switch
    {
        ResponseOp.ResponseOneofCase.Put => [$"OK (revision {response.Put.Revision})"],
        ResponseOp.ResponseOneofCase.Delete => [$"deleted {response.Delete.Deleted}"],
        ResponseOp.ResponseOneofCase.Get when response.Get.Found => [$"{response.Get.Entry.Key}={Output.ValueText(response.Get.Entry)}"],
        ResponseOp.ResponseOneofCase.Get => ["(not found)"],
        ResponseOp.ResponseOneofCase.List when response.List.Entries.Count == 0 => ["(empty)"],
        ResponseOp.ResponseOneofCase.List => response.List.Entries.Select(e => $"{e.Key}={Output.ValueText(e)}"),
        _ => [],
    };

    private static JsonObject ToJson(ResponseOp response) => response.ResponseCase switch
    {
        ResponseOp.ResponseOneofCase.Put => new JsonObject { ["put"] = new JsonObject { ["revision"] = response.Put.Revision } },
        ResponseOp.ResponseOneofCase.Delete => new JsonObject { ["delete"] = new JsonObject { ["deleted"] = response.Delete.Deleted } },
        ResponseOp.ResponseOneofCase.Get => new JsonObject { ["get"] = response.Get.Found ? Output.ToJson(response.Get.Entry) : new JsonObject { ["found"] = false } },
        ResponseOp.ResponseOneofCase.List => new JsonObject { ["list"] = new JsonArray([.. response.List.Entries.Select(e => (JsonNode)Output.ToJson(e))]) },
        _ => [],
    };
}
