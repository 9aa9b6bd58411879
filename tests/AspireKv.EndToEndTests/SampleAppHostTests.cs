using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.Testing;

namespace AspireKv.EndToEndTests;

/// <summary>
/// AspireKv used from another Aspire app (tests/sample): its AppHost adds the store as it would add
/// Redis, and its own project reaches the nodes through AddKeyValueClient("kv") and service discovery.
/// </summary>
public sealed class SampleAppHostTests
{
    [Fact]
    public async Task A_project_of_another_app_round_trips_a_put_and_a_get_through_AddKeyValueClient()
    {
        using var folder = new TempDirectory("aspirekv-sample");
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AspireKv_SampleAppHost>(
            [$"--StateDirectory={folder.Combine("state")}", $"--EndpointsFile={folder.Combine("endpoints.json")}"]);
        await using var app = await builder.BuildAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("api", timeout.Token);

        using var http = app.CreateHttpClient("api", "http");
        using var put = await http.PostAsync("/notes/first", new StringContent("written through the sample app"), timeout.Token);
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(timeout.Token));
        var revision = (await put.Content.ReadFromJsonAsync<JsonElement>(timeout.Token)).GetProperty("revision").GetInt64();
        var got = await http.GetFromJsonAsync<JsonElement>("/notes/first", timeout.Token);

        Assert.Equal("written through the sample app", got.GetProperty("value").GetString());
        Assert.Equal(revision, got.GetProperty("revision").GetInt64());

        // The project was given every replica under the store's name, and each node under its own.
        Assert.True(app.ResourceNotifications.TryGetCurrentState("api", out var state));
        var environment = ProcessTable.EnvironmentOf(AspireKv.Hosting.ResourceProcess.PidOf(state.Snapshot) ?? throw new InvalidOperationException("api has no process."));
        Assert.StartsWith("http://127.0.0.1:", environment["services__kv__grpc__0"]);
        Assert.StartsWith("http://127.0.0.1:", environment["services__kv__grpc__1"]);
        Assert.True(environment.ContainsKey("services__node2__grpc__0"), "the api project was not given node2 by name");
    }
}
