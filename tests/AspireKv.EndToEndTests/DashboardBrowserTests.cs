using Microsoft.Playwright;

namespace AspireKv.EndToEndTests;

/// <summary>The dashboard in a real browser: Debian's chromium, driven by Playwright.</summary>
[Collection(TopologyCollection.Name)]
public sealed class DashboardBrowserTests(TopologyFixture fixture)
{
    private const string Chromium = "/usr/bin/chromium";
    private const float Patience = 60_000;

    [Fact]
    public async Task Dashboard_shows_resources_controls_a_node_and_shows_the_put_trace()
    {
        Assert.True(File.Exists(Chromium), $"This test drives Debian's chromium at {Chromium}; install it with: apt-get install -y chromium");
        var screenshots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;
        var key = $"browser/{Guid.NewGuid():N}";
        await PutThroughTheCliAsync(key);
        await fixture.App.CreateKvClient("node1").PutAsync(key, "changed by the browser test");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        page.SetDefaultTimeout(Patience);

        // The login link signs in and lands on the resources page.
        await page.GotoAsync(fixture.App.Application.Dashboard!.LoginUrl.ToString());
        foreach (var name in new[] { "messaging", "node1", "node2", "node3" })
        {
            await Assertions.Expect(page.Locator($"tr[data-resource='{name}'] td.state")).ToContainTextAsync("Running", new() { Timeout = Patience });
        }

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-resources.png"), FullPage = true });

        // Stop node3 from the page, then start it again.
        await page.Locator("tr[data-resource='node3'] button[data-action='stop']").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-resource='node3'] td.state")).ToContainTextAsync("Exited", new() { Timeout = Patience });
        await page.Locator("tr[data-resource='node3'] button[data-action='start']").ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-resource='node3'] td.state")).ToContainTextAsync("Running", new() { Timeout = Patience });

        // The Put's trace is in the list, and its waterfall spans the CLI and all three nodes.
        await page.GotoAsync(new Uri(fixture.App.Application.Dashboard.Url, "/#/traces").ToString());
        var putTrace = page.Locator("#traces tr", new() { HasTextString = "aspirekv-cli: aspirekv put" }).First;
        await Assertions.Expect(putTrace).ToBeVisibleAsync(new() { Timeout = Patience });
        await putTrace.ClickAsync();
        foreach (var service in new[] { "aspirekv-cli", "node1", "node2", "node3" })
        {
            await Assertions.Expect(page.Locator($"#waterfall tr[data-service='{service}']").First).ToBeVisibleAsync(new() { Timeout = Patience });
        }

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-trace.png"), FullPage = true });

        // A live console tail per resource, and charts of every node's metrics.
        await page.GotoAsync(new Uri(fixture.App.Application.Dashboard.Url, "/#/console/node1").ToString());
        await Assertions.Expect(page.Locator("#lines")).ToContainTextAsync("is serving", new() { Timeout = Patience });
        await page.GotoAsync(new Uri(fixture.App.Application.Dashboard.Url, "/#/metrics").ToString());
        await Assertions.Expect(page.Locator("#charts .legend").First).ToContainTextAsync("node1", new() { Timeout = Patience });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "dashboard-metrics.png"), FullPage = true });

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
