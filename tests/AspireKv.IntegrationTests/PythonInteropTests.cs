using System.Text.Json;
using AspireKv.Testing;

namespace AspireKv.IntegrationTests;

/// <summary>
/// Python's grpcio (Debian's python3-grpcio), with stubs that python3-grpc-tools generates from
/// kv.proto, calls a running node. A client this project did not write sees correct results and
/// status codes.
/// </summary>
public sealed class PythonInteropTests(SingleNodeFixture fixture) : IClassFixture<SingleNodeFixture>
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task Python_grpcio_client_gets_correct_results_and_status_codes()
    {
        var seen = await RunInteropScriptAsync();

        Assert.True(seen.GetProperty("put_revision").GetInt64() > 0);
        Assert.Equal(seen.GetProperty("put_revision").GetInt64() + 1, seen.GetProperty("put_again_revision").GetInt64());
        Assert.Equal("one", seen.GetProperty("put_previous_value").GetString());

        var get = seen.GetProperty("get");
        Assert.True(get.GetProperty("found").GetBoolean());
        Assert.Equal("two", get.GetProperty("value").GetString());
        Assert.Equal(seen.GetProperty("put_revision").GetInt64(), get.GetProperty("create_revision").GetInt64());
        Assert.Equal(seen.GetProperty("put_again_revision").GetInt64(), get.GetProperty("mod_revision").GetInt64());
        Assert.Equal(2, get.GetProperty("version").GetInt64());
        Assert.Equal("two", seen.GetProperty("get_serializable_value").GetString());

        Assert.False(seen.GetProperty("get_missing").GetProperty("found").GetBoolean());
        Assert.False(seen.GetProperty("get_missing").GetProperty("has_entry").GetBoolean());

        AssertStatus(seen, "put_empty_key", "INVALID_ARGUMENT", "key is empty");
        AssertStatus(seen, "get_empty_key", "INVALID_ARGUMENT", "key is empty");
        AssertStatus(seen, "put_long_key", "INVALID_ARGUMENT", "4096");
        AssertStatus(seen, "put_big_value", "INVALID_ARGUMENT", "1048576");
        AssertStatus(seen, "get_bad_consistency", "INVALID_ARGUMENT", "consistency 7");
        AssertStatus(seen, "cas_mismatch", "FAILED_PRECONDITION", "compare-and-set failed");
        Assert.Equal(
            get.GetProperty("mod_revision").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            seen.GetProperty("cas_mismatch").GetProperty("trailers").GetProperty("aspirekv-current-mod-revision").GetString());
        Assert.Equal(seen.GetProperty("put_again_revision").GetInt64() + 1, seen.GetProperty("cas_match_revision").GetInt64());

        var pages = seen.GetProperty("list_pages").EnumerateArray().Select(p => p.EnumerateArray().Select(k => k.GetString()).ToArray()).ToArray();
        Assert.Equal([["interop/list/0", "interop/list/1"], ["interop/list/2", "interop/list/3"], ["interop/list/4"]], pages);
        AssertStatus(seen, "list_bad_continuation", "INVALID_ARGUMENT", "continuation");

        Assert.Equal(1, seen.GetProperty("delete").GetProperty("deleted").GetInt64());
        Assert.False(seen.GetProperty("get_after_delete_found").GetBoolean());
        Assert.Equal(0, seen.GetProperty("delete_again_deleted").GetInt64());
        Assert.Equal(5, seen.GetProperty("delete_prefix_deleted").GetInt64());

        AssertStatus(seen, "unknown_method", "UNIMPLEMENTED", "unimplemented");

        var status = seen.GetProperty("status");
        Assert.Equal("solo", status.GetProperty("node_id").GetString());
        Assert.Equal("NODE_HEALTH_SERVING", status.GetProperty("health").GetString());
        Assert.Equal(64, status.GetProperty("state_hash_length").GetInt32());
    }

    private static void AssertStatus(JsonElement seen, string name, string code, string detailPart)
    {
        var observed = seen.GetProperty(name);
        Assert.True(code == observed.GetProperty("code").GetString(), $"{name}: expected {code}, saw {observed}");
        Assert.Contains(detailPart, observed.GetProperty("details").GetString());
    }

    private async Task<JsonElement> RunInteropScriptAsync()
    {
        using var stubs = new TempDirectory("aspirekv-pystubs");
        var here = AppContext.BaseDirectory;
        var generate = await ManagedProcess.RunToExitAsync(
            new ProcessSpec("protoc", Python, ["-m", "grpc_tools.protoc", "-I", Path.Combine(here, "interop", "proto"), "--python_out", stubs.Path, "--grpc_python_out", stubs.Path, "aspirekv/v1/kv.proto"]),
            TimeSpan.FromMinutes(2));
        Assert.True(generate.ExitCode == 0, $"python3-grpc-tools could not generate stubs from kv.proto:\n{generate.Output}");

        var address = $"127.0.0.1:{fixture.Node.Spec.GrpcPort}";
        var environment = new Dictionary<string, string?> { ["PYTHONPATH"] = stubs.Path, ["PYTHONDONTWRITEBYTECODE"] = "1", ["no_proxy"] = "*", ["http_proxy"] = null, ["https_proxy"] = null };
        var run = await ManagedProcess.RunToExitAsync(
            new ProcessSpec("python", Python, [Path.Combine(here, "interop", "python", "kv_interop.py"), address], null, environment),
            TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, $"the Python client failed:\n{run.Output}");
        var json = run.Output.Split('\n').Last(l => l.StartsWith('{'));
        return JsonDocument.Parse(json).RootElement.Clone();
    }
}
