using System.Net;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using Wattstream.Server.Tests.Feeds.Forecasts;

namespace Wattstream.Server.Tests.Feeds;

/// <summary>
/// A feed registered by a test alone (<see cref="ForecastFeedRegistration.AddForecastFeed"/>) reaches clients on SSE,
/// <c>/ws</c> and NATS, resumes with <c>Last-Event-ID</c> from its ring and then its store, and shows each org only its
/// own items — with no change to any transport.
/// </summary>
public sealed class TestOnlyFeedTests : IAsyncLifetime
{
    private NatsServer _nats = null!;

    public async Task InitializeAsync() => _nats = await NatsServer.StartAsync();

    public async Task DisposeAsync() => await _nats.DisposeAsync();

    [Fact]
    public async Task A_feed_only_a_test_registers_works_on_sse_ws_and_nats_with_resume_and_scope()
    {
        await using var host = await WattstreamHost.StartAsync(
            b => b.Services.AddForecastFeed(),
            "--Auth:Mode=token",
            $"--Auth:HmacSecret={AuthTests.Secret}",
            "--Simulation:Enabled=false",
            $"--Nats:Url={_nats.Url}");
        var board = host.Service<ForecastBoard>();
        await using var nats = new NatsConnection(new NatsOpts { Url = _nats.Url });
        var onNats = await nats.SubscribeCoreAsync<byte[]>("orgs.*.sites.*.forecast.json.v1");
        await nats.PingAsync();

        // Ids 1…10, acme's even and globex's odd; the ring keeps the newest four (7…10), the store all.
        for (var id = 1; id <= 10; id++)
        {
            board.Publish(new Forecast(id, id % 2 == 0 ? "acme" : "globex", "s1", 100 * id));
        }

        var acme = AuthTests.Token("acme");

        // SSE, resuming after 2: 4 and 6 from the store, 8 and 10 from the ring; none of globex's.
        using var sse = AuthTests.Request(HttpMethod.Get, "/api/feeds/forecasts", acme);
        sse.Headers.Add("Last-Event-ID", "2");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await host.Client.SendAsync(sse, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = new List<System.Net.ServerSentEvents.SseItem<string>>();
        await using (var body = await response.Content.ReadAsStreamAsync(cts.Token))
        {
            await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(body).EnumerateAsync(cts.Token))
            {
                events.Add(item);
                if (events.Count == 4)
                {
                    break;
                }
            }
        }

        Assert.Equal(["4", "6", "8", "10"], events.Select(e => e.EventId));
        Assert.All(events, e => Assert.Equal("forecast", e.EventType));
        Assert.All(events, e => Assert.Equal("acme", (string?)JsonNode.Parse(e.Data)!["org"]));

        // /ws, the same resume, then live items of acme only.
        await using var ws = await WebSocketClient.ConnectAsync(host, $"/ws?access_token={acme}");
        await ws.ReceiveJsonAsync(); // hello
        await ws.SendAsync("""{"type":"subscribe","id":"f","kind":"forecasts","subject":"orgs.>","lastEventId":"2"}""");
        var ack = await ws.ReceiveJsonAsync();
        Assert.Equal("subscribed", (string?)ack["type"]);
        Assert.Equal("forecasts", (string?)ack["kind"]);
        Assert.Equal("complete", (string?)ack["resume"]);
        board.Publish(new Forecast(11, "globex", "s1", 1100));
        board.Publish(new Forecast(12, "acme", "s1", 1200));
        var messages = new List<JsonNode>();
        for (var i = 0; i < 5; i++)
        {
            messages.Add(await ws.ReceiveJsonAsync());
        }

        Assert.All(messages, m => Assert.Equal("forecast", (string?)m["type"]));
        Assert.Equal(["4", "6", "8", "10", "12"], messages.Select(m => (string?)m["id"]));
        Assert.Equal(1200, (double)messages[^1]["data"]!["pvW"]!);
        Assert.Equal("orgs.acme.sites.s1.forecast.json.v1", (string?)messages[^1]["subject"]);

        // A malformed resume id is refused, in the feed's words.
        await ws.SendAsync("""{"type":"subscribe","id":"g","kind":"forecasts","lastEventId":"x-1"}""");
        var refused = await ws.ReceiveJsonAsync();
        Assert.Equal("bad_last_event_id", (string?)refused["code"]);
        Assert.Contains("forecast id", (string?)refused["message"], StringComparison.Ordinal);

        // NATS: every item on its own subject, the item's JSON as the payload, in order.
        using var natsCts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var published = new List<NatsMsg<byte[]>>();
        while (published.Count < 12)
        {
            published.Add(await onNats.Msgs.ReadAsync(natsCts.Token));
        }

        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), published.Select(m => (long)JsonNode.Parse(m.Data)!["id"]!));
        Assert.Equal("orgs.globex.sites.s1.forecast.json.v1", published[0].Subject);
        Assert.Equal("orgs.acme.sites.s1.forecast.json.v1", published[1].Subject);
        Assert.Equal(12, (long)JsonNode.Parse(await GetAsAdminAsync(host, "/api/nats"))!["feeds"]!["forecasts"]!);
        await onNats.DisposeAsync();
    }

    private static async Task<string> GetAsAdminAsync(WattstreamHost host, string path)
    {
        using var request = AuthTests.Request(HttpMethod.Get, path, AuthTests.Token("*", scopes: "admin"));
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
