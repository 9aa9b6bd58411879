using System.Net;
using System.Text.Json;
using AspireKv.Hosting.Dashboard;

namespace AspireKv.EndToEndTests;

/// <summary>Reads the dashboard's JSON API the way its page does: signed in with the login link.</summary>
public sealed class DashboardClient : IDisposable
{
    private readonly HttpClient _http;

    public DashboardClient(DashboardServer dashboard)
    {
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, CookieContainer = new CookieContainer() }) { BaseAddress = dashboard.Url };
        LoginUrl = dashboard.LoginUrl;
    }

    public Uri LoginUrl { get; }

    public async Task SignInAsync()
    {
        using var response = await _http.GetAsync(LoginUrl);
        response.EnsureSuccessStatusCode();
    }

    public async Task<JsonElement> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public Task<HttpResponseMessage> RawGetAsync(string path) => _http.GetAsync(path);

    public void Dispose() => _http.Dispose();
}
