using Microsoft.Playwright;

namespace AspireKv.EndToEndTests;

/// <summary>The dashboard in a real browser: Debian's chromium, driven by Playwright.</summary>
[Collection(TopologyCollection.Name)]
public sealed class DashboardBrowserTests(TopologyFixture fixture)
{
    private const float Patience = 60_000;

    [Fact]
    public async Task Dashboard_shows_resources_controls_a_node_and_shows_the_put_trace()
    {
        var screenshots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;
        var key = $"browser/{Guid.NewGuid():N}";
        await PutThroughTheCliAsync(key);
        await fixture.App.CreateKvClient("node1").PutAsync(key, "changed by the browser test");

        // A command that fails leaves a failed span with its reason.
        var (conflictExit, _, conflictError) = await AspireKvCli.RunAsync(fixture, null, "put", key, "never", "--if-revision", "1");
        Assert.True(conflictExit == 4, conflictError);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        page.SetDefaultTimeout(Patience);

        // The login link signs in and lands on the resources page.
        await page.GotoAsync(fixture.App.Application.Dashboard!.LoginUrl.ToString());
        foreach (var name in new[] { "messaging", "node1", "node2", "node3" })
        {
            await Assertions.Expect(page.Locator($"tr[data-resource='{name}'] td.state")).ToContainTextAsync("Running", new() { Timeout = Patience });
        }

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-resources.png"), FullPage = true });

        // Buttons follow the state: a running node can be stopped, not started.
        await Assertions.Expect(page.Locator("tr[data-resource='node3'] button[data-action='start']")).ToBeDisabledAsync();
        await Assertions.Expect(page.Locator("tr[data-resource='node3'] button[data-action='stop']")).ToBeEnabledAsync();

        // Stop node3 from the page, then start it again; each action says it was asked for.
        await page.Locator("tr[data-resource='node3'] button[data-action='stop']").ClickAsync();
        await Assertions.Expect(page.Locator("#feedback")).ToContainTextAsync("node3: stop requested");
        await Assertions.Expect(page.Locator("tr[data-resource='node3'] td.state")).ToContainTextAsync("Exited", new() { Timeout = Patience });
        await Assertions.Expect(page.Locator("tr[data-resource='node3'] button[data-action='stop']")).ToBeDisabledAsync();
        await page.Locator("tr[data-resource='node3'] button[data-action='start']").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-resource='node3'] td.state")).ToContainTextAsync("Running", new() { Timeout = Patience });

        // A restart is shown as what it is: running again, restarted, and nothing "exited unexpectedly".
        await page.Locator("tr[data-resource='node2'] button[data-action='restart']").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-resource='node2'] td.state")).ToContainTextAsync("restarted", new() { Timeout = Patience });
        await Assertions.Expect(page.Locator("tr[data-resource='node2'] td.state")).ToContainTextAsync("Running", new() { Timeout = Patience });
        await Assertions.Expect(page.Locator("tr[data-resource='node2'] td.state")).Not.ToContainTextAsync("unexpectedly");
        await Assertions.Expect(page.Locator("tr[data-resource='node2'] td.health")).ToHaveTextAsync("Healthy", new() { Timeout = Patience });

        // The Put's trace is in the list, and its waterfall spans the CLI and all three nodes.
        await page.GotoAsync(new Uri(fixture.App.Application.Dashboard.Url, "/#/traces").ToString());
        var putTrace = page.Locator("#traces tr", new() { HasTextString = "aspirekv-cli: aspirekv put" }).Filter(new() { HasNotTextString = "error" }).First;
        await Assertions.Expect(putTrace).ToBeVisibleAsync(new() { Timeout = Patience });
        await putTrace.ClickAsync();
        foreach (var service in new[] { "aspirekv-cli", "node1", "node2", "node3" })
        {
            await Assertions.Expect(page.Locator($"#waterfall tr[data-service='{service}']").First).ToBeVisibleAsync(new() { Timeout = Patience });
        }

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-trace.png"), FullPage = true });

        // The failed Put's trace opens on its failed span: status, message, attributes and the exception event.
        await page.Locator("#back").ClickAsync();
        var failedTrace = page.Locator("#traces tr", new() { HasTextString = "aspirekv put" }).Filter(new() { HasTextString = "error" }).First;
        await Assertions.Expect(failedTrace).ToBeVisibleAsync(new() { Timeout = Patience });
        await failedTrace.ClickAsync();
        await Assertions.Expect(page.Locator("#span-status")).ToContainTextAsync("Error: ");
        await Assertions.Expect(page.Locator("#span-status")).ToContainTextAsync("compare-and-set failed");
        await Assertions.Expect(page.Locator("#span-attributes")).ToContainTextAsync("process.exit.code");
        await Assertions.Expect(page.Locator("#span-events")).ToContainTextAsync("exception");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-span.png"), FullPage = true });

        // A live console tail per resource, and charts of every node's metrics.
        await page.GotoAsync(new Uri(fixture.App.Application.Dashboard.Url, "/#/console/node1").ToString());
        await Assertions.Expect(page.Locator("#lines")).ToContainTextAsync("is serving", new() { Timeout = Patience });
        await Assertions.Expect(page.Locator("#lines .ts").First).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d\d:\d\d:\d\d\.\d{3}$"));
        await page.GotoAsync(new Uri(fixture.App.Application.Dashboard.Url, "/#/metrics").ToString());
        await Assertions.Expect(page.Locator("#charts .legend").First).ToContainTextAsync("node1", new() { Timeout = Patience });

        // The picker lists every exported metric; a chosen one gets a time axis and a y-axis fitted to its values.
        await Assertions.Expect(page.Locator("#metric option[value='aspirekv.applied_revision']")).ToHaveCountAsync(1, new() { Timeout = Patience });
        Assert.True(await page.Locator("#metric option").CountAsync() > 10, "the picker should list every exported metric");
        await page.Locator("#metric").SelectOptionAsync("aspirekv.applied_revision");
        await Assertions.Expect(page.Locator("#charts .chart h2").First).ToContainTextAsync("aspirekv.applied_revision", new() { Timeout = Patience });
        await Assertions.Expect(page.Locator("#charts .x-tick").First).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d\d:\d\d:\d\d$"));
        // Fitted, not pinned to 0: the lines use a good part of the plot's height (a revision axis from 0 drew a flat line at the top).
        var extent = await page.EvaluateAsync<double>("""
            () => {
              const ys = [...document.querySelectorAll('#charts .chart:first-child polyline')].flatMap((l) => l.getAttribute('points').trim().split(' ').map((p) => Number(p.split(',')[1])));
              const [lo, hi] = [Math.min(...ys), Math.max(...ys)];
              return hi > lo ? (hi - lo) / 176 : 1;
            }
            """);
        Assert.True(extent > 0.3, $"the applied revision's lines span only {extent:P0} of the plot's height");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-metrics.png"), FullPage = true });

        // Structured logs filter by level and by resource.
        await page.GotoAsync(new Uri(fixture.App.Application.Dashboard.Url, "/#/logs").ToString());
        await Assertions.Expect(page.Locator("#logs tr[data-level='Information']").First).ToBeVisibleAsync(new() { Timeout = Patience });
        await page.Locator("#level").SelectOptionAsync("3"); // Warning and above
        await Assertions.Expect(page.Locator("#logs tr[data-level='Information']")).ToHaveCountAsync(0);
        await page.Locator("#level").SelectOptionAsync("0");
        await page.Locator("#service").SelectOptionAsync("node2");
        await Assertions.Expect(page.Locator("#logs tbody tr").First).ToBeVisibleAsync();
        Assert.All(await page.Locator("#logs tbody tr td:nth-child(2)").AllTextContentsAsync(), service => Assert.Equal("node2", service));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-logs.png"), FullPage = true });

        // The key browser lists the key under its prefix, and shows its two versions.
        await page.GotoAsync(new Uri(fixture.App.Application.Dashboard.Url, "/#/keys").ToString());
        await page.Locator("#prefix").FillAsync("browser/");
        await page.Locator($"#keys tr[data-key='{key}']").ClickAsync();
        await Assertions.Expect(page.Locator("#key-history tr[data-revision]")).ToHaveCountAsync(2, new() { Timeout = Patience });
        await Assertions.Expect(page.Locator("#key-history")).ToContainTextAsync("changed by the browser test");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-keys.png"), FullPage = true });

        Assert.All(Directory.GetFiles(screenshots, "dashboard-*.png"), f => Assert.True(new FileInfo(f).Length > 0));
    }

    private async Task PutThroughTheCliAsync(string key)
    {
        var (exitCode, _, error) = await AspireKvCli.RunAsync(fixture, null, "put", key, "from the browser test");
        Assert.True(exitCode == 0, error);
    }
}
