using AspireKv.Client;
using AspireKv.Testing;
using Microsoft.Playwright;

namespace AspireKv.EndToEndTests;

/// <summary>
/// The Aspire dashboard in a real browser (Debian's chromium, driven by Playwright), as a user
/// opens it from the link the AppHost prints: the resources healthy, a Put's trace across the
/// nodes, the chaos commands, a spare node started from it, and AspireKv's own pages it links.
/// </summary>
public sealed class DashboardBrowserTests
{
    private const float Patience = 60_000;

    [Fact]
    public async Task Dashboard_signs_in_with_the_printed_token_shows_the_topology_healthy_the_puts_trace_and_runs_the_node_commands()
    {
        var screenshots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;
        using var folder = new TempDirectory("aspirekv-dashboard");
        await using var apphost = await AppHostProcess.StartAsync(folder.Path, "--dashboard-port", "0");
        var login = apphost.LoginUrl;
        Assert.NotNull(login);
        var key = $"browser/{Guid.NewGuid():N}";
        var (putExit, _, putError) = await AspireKvCli.RunAsync(apphost.EndpointsPath, null, "put", key, "from the browser test");
        Assert.True(putExit == 0, putError);
        using (var node1 = new KvClient(apphost.Endpoints.Resources["node1"].Endpoints["grpc"]))
        {
            await node1.PutAsync(key, "changed by the browser test");
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        page.SetDefaultTimeout(Patience);
        Assertions.SetDefaultExpectTimeout(Patience);

        // The printed link signs in and lands on the resources: the broker and three nodes,
        // running and healthy (an unhealthy one reads "Running (Unhealthy)"), and the spare not started.
        await page.GotoAsync(login!.ToString());
        foreach (var name in new[] { "messaging", "node1", "node2", "node3" })
        {
            await Assertions.Expect(State(page, name)).ToHaveAttributeAsync("title", "Running");
        }

        await Assertions.Expect(State(page, "node4")).ToContainTextAsync("Not started");
        await Assertions.Expect(Row(page, "node1").GetByText("Replication")).ToBeVisibleAsync();
        await Assertions.Expect(Row(page, "messaging").GetByText("Management UI")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-resources.png"), FullPage = true });

        // The CLI's Put is one trace with spans from the CLI and all three nodes.
        await page.GotoAsync(new Uri(login, "/traces").ToString());
        await page.Locator("td[title^='Name: aspirekv-cli: aspirekv put']").First.ClickAsync();
        foreach (var service in new[] { "aspirekv-cli", "node1", "node2", "node3" })
        {
            await Assertions.Expect(page.Locator($"td[col-index='2'][title='{service}']").First).ToBeVisibleAsync();
        }

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-trace.png"), FullPage = true });

        // Pause and resume node2, kill node3 (confirmed), then start it again.
        await page.GotoAsync(new Uri(login, "/").ToString());
        await Assertions.Expect(State(page, "node2")).ToHaveAttributeAsync("title", "Running");
        await RunCommandAsync(page, "node2", "SIGSTOP");
        await Assertions.Expect(State(page, "node2")).ToHaveAttributeAsync("title", "Paused");
        await RunCommandAsync(page, "node2", "SIGCONT");
        await Assertions.Expect(State(page, "node2")).ToHaveAttributeAsync("title", "Running");
        await RunCommandAsync(page, "node3", "SIGKILL", confirm: true);
        await Assertions.Expect(State(page, "node3")).ToContainTextAsync(new System.Text.RegularExpressions.Regex("Exited|Finished"));
        await Row(page, "node3").Locator("[aria-label='Start resource']").ClickAsync();
        await Assertions.Expect(State(page, "node3")).ToHaveAttributeAsync("title", "Running");

        // The spare node4, started from the dashboard, catches up and serves the key.
        await Row(page, "node4").Locator("[aria-label='Start resource']").ClickAsync();
        await Assertions.Expect(State(page, "node4")).ToHaveAttributeAsync("title", "Running");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-commands.png"), FullPage = true });
        await Eventually.TrueAsync(() => apphost.Endpoints.Resources.ContainsKey("node4"), TimeSpan.FromSeconds(30));
        using (var node4 = new KvClient(apphost.Endpoints.Resources["node4"].Endpoints["grpc"]))
        {
            Assert.Equal("changed by the browser test", await node4.GetStringAsync(key));
        }

        // AspireKv's own pages, linked from each node: the Replication view and the key browser.
        var http = new Uri(apphost.Endpoints.Resources["node1"].Endpoints["http"]);
        await page.GotoAsync(new Uri(http, "/replication").ToString());
        foreach (var node in new[] { "node1", "node2", "node3", "node4" })
        {
            await Assertions.Expect(page.Locator($"tr[data-node='{node}'] td.applied-offset")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9]+$"));
        }

        await Assertions.Expect(page.Locator("#stream-leader")).ToContainTextAsync("aspirekv-");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "replication.png"), FullPage = true });
        await page.GotoAsync(new Uri(http, "/keys").ToString());
        await page.Locator("#prefix").FillAsync("browser/");
        await page.Locator($"#keys tr[data-key='{key}']").ClickAsync();
        await Assertions.Expect(page.Locator("#key-history tr[data-revision]")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#key-history")).ToContainTextAsync("changed by the browser test");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "keys.png"), FullPage = true });

        await apphost.StopAsync(interrupt: false);
        Assert.All(Directory.GetFiles(screenshots, "*.png"), f => Assert.True(new FileInfo(f).Length > 0));
    }

    private static ILocator Row(IPage page, string resource) =>
        page.Locator("tr.resource-row", new() { Has = page.Locator($"td[aria-label$=': {resource}']") });

    private static ILocator State(IPage page, string resource) => Row(page, resource).Locator("td[col-index='2']");

    /// <summary>
    /// Runs one of the node's commands from its Actions menu, found by its description (which names the signal).
    /// A confirmed command only acts on "Yes", so when its dialog does not show (the page re-rendered the
    /// row under the click, as CI saw once) the menu is opened and the command chosen again.
    /// </summary>
    private static async Task RunCommandAsync(IPage page, string resource, string described, bool confirm = false)
    {
        var yes = page.Locator("fluent-dialog fluent-button:visible, [role='dialog'] fluent-button:visible", new() { HasTextRegex = new System.Text.RegularExpressions.Regex(@"^\s*Yes\s*$") });
        for (var attempt = 1; ; attempt++)
        {
            await ChooseCommandAsync(page, resource, described);
            if (!confirm)
            {
                return;
            }

            if (await yes.WaitForAsync(new() { State = WaitForSelectorState.Visible, Timeout = 10_000 }).ContinueWith(t => t.IsCompletedSuccessfully) || attempt == 5)
            {
                await yes.ClickAsync();
                return;
            }

            await page.Keyboard.PressAsync("Escape");
        }
    }

    private static async Task ChooseCommandAsync(IPage page, string resource, string described)
    {
        // The menu lists a resource's commands under "Commands" when it has more than five that show (Aspire's rule),
        // and in the menu itself otherwise (which commands show depends on the state). The page also
        // renders a row again as its resource changes, so a click can open nothing or a menu close under the pointer.
        // So each try opens the menu unless it shows, finds the command either way, and a failed try closes the menu.
        var commands = page.Locator("[role='menuitem'][title='Commands']:visible");
        var command = page.Locator($"[role='menuitem'][title*='{described}']:visible");
        var either = command.Or(commands).First;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (!await either.IsVisibleAsync())
                {
                    await Row(page, resource).Locator("[aria-label='Actions']").ClickAsync(new() { Timeout = 10_000 });
                }

                await either.WaitForAsync(new() { State = WaitForSelectorState.Visible, Timeout = 5_000 });
                if (!await command.IsVisibleAsync())
                {
                    await commands.HoverAsync(new() { Timeout = 5_000 });
                }

                await command.ClickAsync(new() { Timeout = 5_000 });
                return;
            }
            catch (TimeoutException) when (attempt < 10)
            {
                await page.Keyboard.PressAsync("Escape");
            }
        }
    }
}
