using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>
/// DERSim device indices are counted within the caller's scope: each org sees 0…n−1 of its own devices, and an index
/// past them is the same 404 whatever other orgs have.
/// </summary>
public sealed class DerSimScopeTests : IAsyncLifetime
{
    private WattstreamHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await AuthTests.StartTokenHostAsync();
        await PushAsync("alpha", 2, -1000);
        await PushAsync("beta", 5, -2000);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    // PV DERs pv-0… of an org, each with its own power (kW in the DERSim payload: -watts / 1000, the generator sign).
    private async Task PushAsync(string org, int count, int baseWatts, int from = 0)
    {
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var body = string.Concat(Enumerable.Range(from, count).Select(i =>
            $$"""{"org":"{{org}}","site":"roof","device":"inv","der":"pv-{{i}}","type":"pv","timestamp":{{t}},"W":{{baseWatts - i}}}""" + "\n"));
        using var request = AuthTests.Request(HttpMethod.Post, "/api/readings", AuthTests.Token(org, scopes: "publish"));
        request.Content = new StringContent(body, Encoding.UTF8, "application/x-ndjson");
        using var response = await _host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string org, string path)
    {
        using var response = await _host.Client.SendAsync(AuthTests.Request(HttpMethod.Get, path, AuthTests.Token(org)));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    // A problem without what varies per request (its trace id).
    private static string WithoutTrace(string problem)
    {
        var body = JsonNode.Parse(problem)!.AsObject();
        body.Remove("traceId");
        return body.ToJsonString();
    }

    private static double PowerKw(JsonNode snapshot) => (double)snapshot["metrics"]!["power_kw"]!;

    [Fact]
    public async Task Each_org_sees_its_own_devices_from_index_0_and_an_index_past_them_is_the_same_404_whatever_the_other_has()
    {
        var alpha0 = await GetAsync("alpha", "/api/dersim/overview?device=0");
        var alpha1 = await GetAsync("alpha", "/api/dersim/overview?device=1");
        var beta0 = await GetAsync("beta", "/api/dersim/overview?device=0");
        var beta4 = await GetAsync("beta", "/api/dersim/overview?device=4");
        var alphaPast = await GetAsync("alpha", "/api/dersim/overview?device=2");
        var alphaFar = await GetAsync("alpha", "/api/dersim/overview?device=9"); // a device of the hub (demo's, beta's), not alpha's
        var betaPast = await GetAsync("beta", "/api/dersim/overview?device=5");
        var alphaInfo = JsonNode.Parse((await GetAsync("alpha", "/api/dersim/server-info")).Body)!;
        var alphaList = JsonNode.Parse((await GetAsync("alpha", "/api/dersim/devices")).Body)!.AsArray();

        Assert.Equal(HttpStatusCode.OK, alpha0.Status);
        Assert.Equal(0, (int)JsonNode.Parse(alpha0.Body)!["device_index"]!);
        Assert.Equal(1.0, PowerKw(JsonNode.Parse(alpha0.Body)!), 3);
        Assert.Equal(1.001, PowerKw(JsonNode.Parse(alpha1.Body)!), 3);
        Assert.Equal(0, (int)JsonNode.Parse(beta0.Body)!["device_index"]!);
        Assert.Equal(2.0, PowerKw(JsonNode.Parse(beta0.Body)!), 3);
        Assert.Equal(4, (int)JsonNode.Parse(beta4.Body)!["device_index"]!);
        Assert.Equal(HttpStatusCode.NotFound, alphaPast.Status);
        Assert.Equal(HttpStatusCode.NotFound, alphaFar.Status);
        Assert.Equal(HttpStatusCode.NotFound, betaPast.Status);
        Assert.Equal("device_not_found", (string?)JsonNode.Parse(alphaPast.Body)!["error"]);
        Assert.Equal("device_not_found", (string?)JsonNode.Parse(betaPast.Body)!["error"]);
        Assert.Equal(2, (int)alphaInfo["devices"]!);
        Assert.Equal([0, 1], alphaList.Select(d => (int)d!["device_index"]!));

        // Beta gains devices: alpha's answers do not move by a byte.
        await PushAsync("beta", 3, -2000, from: 5);
        var alphaPastAfter = await GetAsync("alpha", "/api/dersim/overview?device=2");
        var alphaFarAfter = await GetAsync("alpha", "/api/dersim/overview?device=9");
        Assert.Equal(HttpStatusCode.NotFound, alphaPastAfter.Status);
        Assert.Equal(WithoutTrace(alphaPast.Body), WithoutTrace(alphaPastAfter.Body));
        Assert.Equal(WithoutTrace(alphaFar.Body), WithoutTrace(alphaFarAfter.Body));
        Assert.Contains("there are 2", WithoutTrace(alphaFar.Body), StringComparison.Ordinal);
        Assert.Equal(2, (int)JsonNode.Parse((await GetAsync("alpha", "/api/dersim/server-info")).Body)!["devices"]!);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("beta", "/api/dersim/overview?device=7")).Status);
    }

    [Fact]
    public async Task The_websocket_and_ws_number_devices_as_the_overview_does()
    {
        var token = AuthTests.Token("alpha");
        var overview1 = JsonNode.Parse((await GetAsync("alpha", "/api/dersim/overview?device=1")).Body)!;

        await using var all = await ConnectAsync($"/api/dersim/ws/telemetry?access_token={token}");
        var initial = new[] { await all.ReceiveJsonAsync(), await all.ReceiveJsonAsync() };
        await using var one = await ConnectAsync($"/api/dersim/ws/telemetry?device=1&access_token={token}");
        var onlyOne = await one.ReceiveJsonAsync();
        await using var ws = await ConnectAsync($"/ws?access_token={token}");
        await ws.ReceiveUntilAsync(m => (string?)m["type"] == "hello");
        await ws.SendAsync("""{"type":"subscribe","id":"d","subject":"orgs.alpha.>","format":"dersim"}""");
        await ws.ReceiveUntilAsync(m => (string?)m["type"] == "subscribed");
        var generalIndices = new HashSet<int>();
        var pushed = false;
        while (generalIndices.Count < 2)
        {
            if (!pushed)
            {
                pushed = true;
                await PushAsync("alpha", 2, -1000); // a new reading of each: /ws sends live readings only
            }

            var message = await ws.ReceiveUntilAsync(m => (string?)m["type"] == "reading");
            generalIndices.Add((int)message["data"]!["device_index"]!);
        }

        Assert.Equal([0, 1], initial.Select(s => (int)s["device_index"]!).Order());
        Assert.Equal(1, (int)onlyOne["device_index"]!);
        Assert.Equal(PowerKw(overview1), PowerKw(onlyOne));
        Assert.Equal([0, 1], generalIndices.Order());

        // Past alpha's devices the socket is refused as the overview is, before the upgrade.
        using var refused = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        var uri = new UriBuilder(new Uri(_host.BaseAddress, "/api/dersim/ws/telemetry")) { Scheme = "ws", Query = $"device=2&access_token={token}" }.Uri;
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(uri, CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, refused.HttpStatusCode);
    }

    private Task<WebSocketClient> ConnectAsync(string pathAndQuery) => WebSocketClient.ConnectAsync(_host, pathAndQuery);
}
