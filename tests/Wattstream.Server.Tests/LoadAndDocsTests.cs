using System.Net;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

public class LoadAndDocsTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private WattstreamHost Host => shared.Host;

    [Fact]
    public async Task Five_hundred_concurrent_sse_clients_all_receive()
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1000 };
        using var client = new HttpClient(handler) { BaseAddress = Host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        string[] paths = ["/api/v1/live", "/api/sse/meters", "/stream/sites/site-1", "/hes/service/stream"];

        var results = await Task.WhenAll(Enumerable.Range(0, 500)
            .Select(i => SseClient.ReadAsync(client, paths[i % paths.Length], 2, TimeSpan.FromSeconds(45))));

        Assert.All(results, items => Assert.Equal(2, items.Count));
    }

    [Fact]
    public async Task The_openapi_document_describes_every_endpoint()
    {
        var document = JsonNode.Parse(await Host.Client.GetStringAsync("/openapi/v1.json"))!;
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToHashSet();

        foreach (var path in new[]
        {
            "/api/v1/live", "/api/v1/report", "/api/v1/system", "/meters/{meter}/api/v1/live",
            "/api/sse/meters", "/api/sse/meter-status/{meterId}", "/api/sse/real-time-data/{meterId}",
            "/hes/service/meter-status/stream", "/hes/service/stream", "/stream/sites/{siteId}",
            "/api/dersim/overview", "/api/dersim/devices", "/api/sites", "/api/meters", "/healthz",
        })
        {
            Assert.Contains(path, paths);
        }

        Assert.All(document["paths"]!.AsObject(), p => Assert.All(p.Value!.AsObject(), op => Assert.False(string.IsNullOrEmpty((string?)op.Value!["summary"]), $"{p.Key} has no summary")));
    }

    [Fact]
    public async Task The_api_reference_ui_is_served_at_docs()
    {
        using var response = await Host.Client.GetAsync("/docs/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("openapi/v1.json", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var script = await Host.Client.GetAsync("/docs/scalar.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    [Fact]
    public async Task Oversized_headers_are_refused_with_431()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/meters");
        request.Headers.Add("X-Padding", new string('a', 40_000));

        using var response = await Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Unknown_paths_are_404_problems()
    {
        using var response = await Host.Client.GetAsync("/api/nothing-here");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
