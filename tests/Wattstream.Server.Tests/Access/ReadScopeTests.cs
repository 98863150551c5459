using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>
/// A valid token of the right org that lacks the <c>read</c> scope reads nothing: every data endpoint (SSE, REST and
/// <c>/ws</c>) answers 403 with the problem document, not an empty stream or list.
/// </summary>
public class ReadScopeTests(TokenHubFixture fixture) : IClassFixture<TokenHubFixture>
{
    private WattstreamHost Host => fixture.Host;

    public static TheoryData<string, string> DataEndpoints()
    {
        var data = new TheoryData<string, string>();
        string[] paths =
        [
            // SSE
            "/stream/sites/site-1", "/api/v1/live", "/api/sse/meters", "/api/sse/real-time-data/62124022441", "/api/sse/meter-status/62124022441",
            // REST
            "/api/sites", "/api/meters", "/api/dersim/overview", "/api/v1/report",
            "/api/history?site=site-1&from=2026-11-01T10:00:00Z&to=2026-11-01T10:02:00Z",
            // /ws, asked as a plain GET: authorization comes before the upgrade
            "/ws",
        ];
        foreach (var scopes in new[] { "publish", "write" }) // "write" is no scope of ours: ignored, so the token has none
        {
            foreach (var path in paths)
            {
                data.Add(scopes, path);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DataEndpoints))]
    public async Task A_token_without_read_gets_a_403_problem_at_a_data_endpoint(string scopes, string path)
    {
        using var request = AuthTests.Request(HttpMethod.Get, path, AuthTests.Token(scopes: scopes));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        using var response = await Host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync(cts.Token))!;
        Assert.Equal("forbidden", (string?)problem["error"]);
        Assert.Contains("read", (string?)problem["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_websocket_upgrade_with_a_token_without_read_is_refused_with_403_before_the_upgrade()
    {
        using var socket = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        var uri = new UriBuilder(new Uri(Host.BaseAddress, "/ws")) { Scheme = "ws", Query = $"access_token={AuthTests.Token(scopes: "publish")}" }.Uri;

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode); // the body is the problem above (a plain GET of /ws shows it)
    }

    [Fact]
    public async Task The_same_token_with_read_added_is_served()
    {
        using var request = AuthTests.Request(HttpMethod.Get, "/api/sites", AuthTests.Token(scopes: "publish read"));

        using var response = await Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("site-1", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
