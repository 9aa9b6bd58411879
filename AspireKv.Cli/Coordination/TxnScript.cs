using System.Globalization;
using System.Text.RegularExpressions;
using AspireKv.Cli.Repl;
using AspireKv.V1;
using Google.Protobuf;

namespace AspireKv.Cli.Coordination;

/// <summary>
/// A transaction in etcdctl's <c>txn</c> syntax: compares, a blank line, success requests, a blank
/// line, failure requests. A compare is <c>mod("key") &gt; "3"</c> (targets <c>value</c>,
/// <c>version</c>, <c>create</c>, <c>mod</c> and <c>lease</c>; operators <c>=</c>, <c>!=</c>,
/// <c>&lt;</c> and <c>&gt;</c>); a request is <c>put key value</c>, <c>get key</c> or
/// <c>del key</c>, with <c>--prefix</c> for a prefix.
/// </summary>
internal static partial class TxnScript
{
    public const string ComparesPrompt = "compares:";
    public const string SuccessPrompt = "success requests (get, put, del):";
    public const string FailurePrompt = "failure requests (get, put, del):";

    /// <summary>Reads the three sections; <paramref name="prompt"/> is called before each when reading from a terminal.</summary>
    public static TxnRequest Parse(TextReader input, Action<string>? prompt = null)
    {
        var request = new TxnRequest();
        prompt?.Invoke(ComparesPrompt);
        foreach (var line in Section(input))
        {
            request.Compares.Add(ParseCompare(line));
        }

        prompt?.Invoke(SuccessPrompt);
        request.Success.AddRange(Section(input).Select(ParseRequest));
        prompt?.Invoke(FailurePrompt);
        request.Failure.AddRange(Section(input).Select(ParseRequest));
        return request;
    }

    public static Compare ParseCompare(string line)
    {
        var match = CompareLine().Match(line.Trim());
        if (!match.Success)
        {
            throw new CliException(ExitCodes.Usage, $"'{line.Trim()}' is not a compare; write it as mod(\"key\") > \"3\" (targets value, version, create, mod, lease; operators =, !=, <, >).");
        }

        var compare = new Compare
        {
            Key = match.Groups["key"].Value,
            Result = match.Groups["op"].Value switch
            {
                "=" or "==" => Compare.Types.Result.Equal,
                "!=" => Compare.Types.Result.NotEqual,
                "<" => Compare.Types.Result.Less,
                _ => Compare.Types.Result.Greater,
            },
        };
        var value = match.Groups["value"].Value;
        switch (match.Groups["target"].Value.ToLowerInvariant())
        {
            case "value" or "val":
                compare.Value = ByteString.CopyFromUtf8(value);
                break;
            case "version" or "ver":
                compare.Version = Number(value, line);
                break;
            case "create" or "c":
                compare.CreateRevision = Number(value, line);
                break;
            case "mod" or "m":
                compare.ModRevision = Number(value, line);
                break;
            default:
                compare.Lease = value == "0" ? 0 : LeaseIds.Parse(value);
                break;
        }

        return compare;
    }

    public static RequestOp ParseRequest(string line)
    {
        var parsed = ReplLine.Parse(line) ?? throw new CliException(ExitCodes.Usage, "an empty request");
        var prefix = parsed.Words.Contains("--prefix");
        var words = parsed.Words.Where(w => w != "--prefix").ToList();
        return parsed.Command switch
        {
            "PUT" when parsed.KeyAndValue() is var (key, value) => new RequestOp { Put = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(value) } },
            "GET" when words.Count == 1 && prefix => new RequestOp { List = new ListRequest { Prefix = words[0] } },
            "GET" when words.Count == 1 => new RequestOp { Get = new GetRequest { Key = words[0] } },
            "DEL" or "DELETE" when words.Count == 1 => new RequestOp { Delete = new DeleteRequest { Key = words[0], Prefix = prefix } },
            _ => throw new CliException(ExitCodes.Usage, $"'{line.Trim()}' is not a request; write put key value, get key [--prefix] or del key [--prefix]."),
        };
    }

    /// <summary>The lines up to a blank line or the end of input.</summary>
    private static IEnumerable<string> Section(TextReader input)
    {
        while (input.ReadLine() is { } line && line.Trim().Length > 0)
        {
            yield return line;
        }
    }

    private static long Number(string value, string line) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new CliException(ExitCodes.Usage, $"'{value}' in '{line.Trim()}' is not a number.");

    [GeneratedRegex("""^(?<target>value|val|version|ver|create|c|mod|m|lease)\("(?<key>[^"]*)"\)\s*(?<op>==|=|!=|<|>)\s*"(?<value>.*)"$""", RegexOptions.IgnoreCase)]
    private static partial Regex CompareLine();
}
