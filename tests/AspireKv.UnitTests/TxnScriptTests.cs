using AspireKv.Cli;
using AspireKv.Cli.Coordination;
using AspireKv.V1;

namespace AspireKv.UnitTests;

/// <summary>etcdctl's txn syntax and lease ids, as the CLI reads them.</summary>
public sealed class TxnScriptTests
{
    [Fact]
    public void Reads_compares_and_both_branches_in_etcdctls_syntax()
    {
        var script = string.Join('\n',
            "mod(\"a\") > \"3\"",
            "value(\"b\") != \"x y\"",
            "create(\"c\") = \"0\"",
            "ver(\"d\") < \"2\"",
            "lease(\"e\") = \"694d7a8f9ff64e0a\"",
            string.Empty,
            "put a \"hello world\"",
            "get b --prefix",
            string.Empty,
            "del c --prefix",
            "get d");

        var prompts = new List<string>();
        var txn = TxnScript.Parse(new StringReader(script), prompts.Add);

        Assert.Equal([TxnScript.ComparesPrompt, TxnScript.SuccessPrompt, TxnScript.FailurePrompt], prompts);
        Assert.Equal([Compare.TargetOneofCase.ModRevision, Compare.TargetOneofCase.Value, Compare.TargetOneofCase.CreateRevision, Compare.TargetOneofCase.Version, Compare.TargetOneofCase.Lease], txn.Compares.Select(c => c.TargetCase));
        Assert.Equal([Compare.Types.Result.Greater, Compare.Types.Result.NotEqual, Compare.Types.Result.Equal, Compare.Types.Result.Less, Compare.Types.Result.Equal], txn.Compares.Select(c => c.Result));
        Assert.Equal("x y", txn.Compares[1].Value.ToStringUtf8());
        Assert.Equal(0x694d7a8f9ff64e0a, txn.Compares[4].Lease);
        Assert.Equal("hello world", txn.Success[0].Put.Value.ToStringUtf8());
        Assert.Equal("b", txn.Success[1].List.Prefix);
        Assert.True(txn.Failure[0].Delete.Prefix);
        Assert.Equal("d", txn.Failure[1].Get.Key);
    }

    [Theory]
    [InlineData("mod(a) > \"3\"", "is not a compare")]
    [InlineData("size(\"a\") = \"1\"", "is not a compare")]
    [InlineData("mod(\"a\") = \"three\"", "is not a number")]
    public void A_bad_compare_says_what_is_wrong(string line, string message)
    {
        var error = Assert.Throws<CliException>(() => TxnScript.Parse(new StringReader(line + "\n\n\n")));
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("put a")]
    [InlineData("frob a")]
    [InlineData("get a b")]
    public void A_bad_request_says_how_to_write_one(string line)
    {
        var error = Assert.Throws<CliException>(() => TxnScript.ParseRequest(line));
        Assert.Contains("put key value, get key [--prefix] or del key [--prefix]", error.Message);
    }

    [Theory]
    [InlineData("694d7a8f9ff64e0a", 0x694d7a8f9ff64e0a)]
    [InlineData("0x10", 16)]
    [InlineData("00000000000000ff", 255)]
    public void Lease_ids_are_hexadecimal_both_ways(string text, long id)
    {
        Assert.Equal(id, LeaseIds.Parse(text));
        Assert.Equal(id, LeaseIds.Parse(LeaseIds.Format(id)));
        Assert.Equal(16, LeaseIds.Format(id).Length);
    }

    [Theory]
    [InlineData("zz")]
    [InlineData("0")]
    [InlineData("-5")]
    public void A_bad_lease_id_is_a_usage_error(string text) =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<CliException>(() => LeaseIds.Parse(text)).ExitCode);
}
