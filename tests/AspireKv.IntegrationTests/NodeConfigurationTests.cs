using AspireKv.Hosting;
using AspireKv.Testing;

namespace AspireKv.IntegrationTests;

/// <summary>A node that cannot run with its configuration says why and exits, instead of crashing with a stack trace.</summary>
public sealed class NodeConfigurationTests
{
    [Theory]
    [InlineData(null, "No broker is configured")]
    [InlineData("http://not-amqp:5672", "is not an AMQP URI")]
    public async Task Node_without_a_usable_broker_setting_exits_with_the_reason(string? connectionString, string reason)
    {
        using var data = new TempDirectory("aspirekv-config");
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__messaging"] = connectionString,
            ["Replication__Log"] = null,
            ["Node__DataPath"] = data.Path,
        };

        var (exitCode, output) = await ManagedProcess.RunToExitAsync(
            DotNetHost.Run("node", ResourceProjects.GetPath(ResourceProjects.Node, typeof(NodeConfigurationTests).Assembly), [], environment),
            TimeSpan.FromMinutes(1));

        Assert.Equal(1, exitCode);
        Assert.Contains(reason, output);
        Assert.DoesNotContain("   at ", output);
    }
}
