using System.Net;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests.Feeds;

/// <summary><c>/api/feeds/{kind}</c>: every registered feed over SSE, and clear errors for what it cannot serve.</summary>
public class FeedEndpointTests(TokenHubFixture fixture) : IClassFixture<TokenHubFixture>
{
    private WattstreamHost Host => fixture.Host;

    [Theory]
    [InlineData("/api/feeds/forecasts", HttpStatusCode.NotFound, "unknown_feed")]
    [InlineData("/api/feeds/status?subject=orgs..x", HttpStatusCode.BadRequest, "invalid_subject")]
    [InlineData("/api/feeds/status?subject=orgs.globex.>", HttpStatusCode.Forbidden, "forbidden_subject")]
    [InlineData("/api/feeds/alerts", HttpStatusCode.BadRequest, "invalid_last_event_id")]
    [InlineData("/api/feeds/readings?format=nope", HttpStatusCode.BadRequest, "invalid_format")]
    public async Task What_a_feed_cannot_serve_is_a_problem_naming_why(string path, HttpStatusCode status, string error)
    {
        using var request = AuthTests.Request(HttpMethod.Get, path, AuthTests.Token("acme"));
        if (path.EndsWith("alerts", StringComparison.Ordinal))
        {
            request.Headers.Add("Last-Event-ID", "1795000000000-42"); // a reading's id is no alert id
        }

        using var response = await Host.Client.SendAsync(request);

        Assert.Equal(status, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(error, (string?)problem["error"]);
        Assert.False(string.IsNullOrEmpty((string?)problem["message"]));
    }

    [Fact]
    public async Task The_status_feed_gives_the_present_status_of_the_callers_ders_as_sse_events()
    {
        using var request = AuthTests.Request(HttpMethod.Get, "/api/feeds/status", AuthTests.Token("acme"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await Host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(body).EnumerateAsync(cts.Token))
        {
            // The fixture pushed one acme reading: its DER is connected, and that is the first status this caller sees.
            Assert.Equal("status", item.EventType);
            var status = JsonNode.Parse(item.Data)!;
            Assert.Equal("acme", (string?)status["org"]);
            Assert.Equal("CONNECTED", (string?)status["status"]);
            Assert.False(string.IsNullOrEmpty(item.EventId));
            return;
        }

        Assert.Fail("the stream ended without a status");
    }
}
