using System.Net;

namespace Wattstream.Server.Tests;

public class CorsTests(SharedHost shared) : IClassFixture<SharedHost>
{
    [Theory]
    [InlineData("http://localhost:3000")]
    [InlineData("http://127.0.0.1:5173")]
    public async Task Preflight_from_a_local_origin_is_allowed_with_credentials(string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/api/sse/meters");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,custom,last-event-id");

        using var response = await shared.Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", response.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        Assert.Contains("GET", response.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        var headers = response.Headers.GetValues("Access-Control-Allow-Headers").Single();
        Assert.Contains("authorization", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("custom", headers, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_stream_answers_a_local_origin_with_cors_headers()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/live");
        request.Headers.Add("Origin", "http://localhost:3000");

        using var response = await shared.Host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal("http://localhost:3000", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", response.Headers.GetValues("Access-Control-Allow-Credentials").Single());
    }

    [Fact]
    public async Task An_origin_not_configured_gets_no_cors_headers()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/live");
        request.Headers.Add("Origin", "https://elsewhere.example");
        request.Headers.Add("Access-Control-Request-Method", "GET");

        using var response = await shared.Host.Client.SendAsync(request);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Configured_origins_are_allowed()
    {
        await using var host = await WattstreamHost.StartAsync("--Cors:AllowedOrigins:0=https://dashboard.example", "--Cors:AllowLocalhost=false");
        using var allowed = new HttpRequestMessage(HttpMethod.Options, "/api/meters");
        allowed.Headers.Add("Origin", "https://dashboard.example");
        allowed.Headers.Add("Access-Control-Request-Method", "GET");
        using var local = new HttpRequestMessage(HttpMethod.Options, "/api/meters");
        local.Headers.Add("Origin", "http://localhost:3000");
        local.Headers.Add("Access-Control-Request-Method", "GET");

        using var a = await host.Client.SendAsync(allowed);
        using var l = await host.Client.SendAsync(local);

        Assert.Equal("https://dashboard.example", a.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(l.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
