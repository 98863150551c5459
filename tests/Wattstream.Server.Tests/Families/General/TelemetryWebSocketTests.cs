using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Server.Simulation;

namespace Wattstream.Server.Tests;

public class TelemetryWebSocketTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private WattstreamHost Host => shared.Host;

    private static bool Is(JsonNode m, string type) => (string?)m["type"] == type;

    private async Task<WebSocketClient> ConnectAsync()
    {
        var client = await WebSocketClient.ConnectAsync(Host, "/ws");
        var hello = await client.ReceiveJsonAsync();
        Assert.Equal("hello", (string?)hello["type"]);
        Assert.Equal(1, (int)hello["protocol"]!);
        return client;
    }

    [Fact]
    public async Task Subscribe_acknowledges_and_delivers_readings_of_matching_subjects_only()
    {
        await using var client = await ConnectAsync();

        await client.SendAsync("""{"type":"subscribe","id":"s1","subject":"orgs.demo.sites.site-2.>"}""");

        var ack = await client.ReceiveJsonAsync();
        Assert.Equal("subscribed", (string?)ack["type"]);
        Assert.Equal("s1", (string?)ack["id"]);
        Assert.Equal("novacore", (string?)ack["format"]);
        for (var i = 0; i < 6; i++)
        {
            var reading = await client.ReceiveJsonAsync();
            Assert.Equal("reading", (string?)reading["type"]);
            Assert.StartsWith("orgs.demo.sites.site-2.", (string)reading["subject"]!, StringComparison.Ordinal);
            Assert.Matches(@"^\d+-\d+$", (string)reading["id"]!);
            Assert.NotNull(reading["data"]!["type"]);
            Assert.NotNull(reading["data"]!["timestamp"]);
        }
    }

    [Fact]
    public async Task A_burst_sent_in_batched_writes_arrives_whole_in_order_with_pings_answered_between()
    {
        // The server gathers what a client has queued into one write (BatchingWebSocketStream); every message must still
        // arrive as its own intact frame, in order, and a ping answered while a batch is being sent must not cut into it.
        await using var client = await ConnectAsync();
        await client.SendAsync("""{"type":"subscribe","id":"b","subject":"orgs.burst.sites.ws.>"}""");
        await client.ReceiveUntilAsync(m => Is(m, "subscribed"));

        const int Count = 200; // below the queue capacity, so nothing is dropped while the client reads
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var body = string.Concat(Enumerable.Range(0, Count).Select(i =>
            $$"""{"org":"burst","site":"ws","device":"gw","der":"meter","type":"meter","timestamp":{{t + i}},"W":{{i}},"note":"{{new string('x', 400)}}"}""" + "\n"));
        var post = Host.Client.PostAsync("/api/readings", new StringContent(body, System.Text.Encoding.UTF8, "application/x-ndjson"));
        await client.SendAsync("""{"type":"ping","data":{"n":7}}""");

        var watts = new List<double>();
        var pongs = 0;
        while (watts.Count < Count)
        {
            var message = await client.ReceiveJsonAsync();
            if (Is(message, "pong"))
            {
                pongs++;
                continue;
            }

            Assert.Equal("reading", (string?)message["type"]);
            watts.Add((double)message["data"]!["W"]!);
        }

        using var response = await post;
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (double)i), watts);
        if (pongs == 0)
        {
            Assert.Equal("pong", (string?)(await client.ReceiveJsonAsync())["type"]);
        }
    }

    [Fact]
    public async Task The_whatwatt_format_carries_live_payloads_of_meters()
    {
        await using var client = await ConnectAsync();

        await client.SendAsync("""{"type":"subscribe","id":"m","subject":"orgs.*.sites.*.devices.*.ders.*.telemetry.json.v1","format":"whatwatt"}""");
        await client.ReceiveUntilAsync(m => Is(m, "subscribed"));

        var reading = await client.ReceiveJsonAsync();
        Assert.Equal("whatwatt", (string?)reading["format"]);
        Assert.NotNull(reading["data"]!["P_In"]);
        Assert.NotNull(reading["data"]!["E_In"]);
    }

    [Fact]
    public async Task Unsubscribe_stops_delivery()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync("""{"type":"subscribe","id":"a","subject":">"}""");
        await client.ReceiveUntilAsync(m => Is(m, "reading"));

        await client.SendAsync("""{"type":"unsubscribe","id":"a"}""");
        await client.ReceiveUntilAsync(m => Is(m, "unsubscribed") && (string?)m["id"] == "a");
        await client.SendAsync("""{"type":"ping","data":"after"}""");

        // Nothing but the pong follows: the subscription is gone.
        var next = await client.ReceiveJsonAsync();
        Assert.Equal("pong", (string?)next["type"]);
        Assert.Equal("after", (string?)next["data"]);
    }

    [Theory]
    [InlineData("not json", "malformed_message")]
    [InlineData("", "malformed_message")] // an empty message: the first (empty) receive already ends it
    [InlineData("[1,2]", "malformed_message")]
    [InlineData("""{"id":"x"}""", "malformed_message")]
    [InlineData("""{"type":"shout"}""", "unknown_type")]
    [InlineData("""{"type":"subscribe","id":"x","subject":"orgs..x"}""", "bad_subject")]
    [InlineData("""{"type":"subscribe","id":"x","subject":">","format":"xml"}""", "unknown_format")]
    [InlineData("""{"type":"subscribe","subject":">"}""", "missing_id")]
    [InlineData("""{"type":"subscribe","id":"x","lastEventId":"garbage"}""", "bad_last_event_id")]
    [InlineData("""{"type":"unsubscribe","id":"nope"}""", "unknown_subscription")]
    [InlineData("""{"type":7}""", "malformed_message")]
    public async Task A_bad_message_gets_an_error_and_the_connection_stays(string message, string code)
    {
        await using var client = await ConnectAsync();

        await client.SendAsync(message);
        var error = await client.ReceiveJsonAsync();
        await client.SendAsync("""{"type":"ping","data":{"n":1}}""");
        var pong = await client.ReceiveJsonAsync();

        Assert.Equal("error", (string?)error["type"]);
        Assert.Equal(code, (string?)error["code"]);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        Assert.Equal("pong", (string?)pong["type"]);
        Assert.Equal(1, (int)pong["data"]!["n"]!);
    }

    [Fact]
    public async Task A_duplicate_subscription_id_is_an_error()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync("""{"type":"subscribe","id":"d","subject":"orgs.none.>"}""");
        await client.ReceiveUntilAsync(m => Is(m, "subscribed"));

        await client.SendAsync("""{"type":"subscribe","id":"d","subject":"orgs.none.>"}""");

        Assert.Equal("duplicate_id", (string?)(await client.ReceiveUntilAsync(m => Is(m, "error")))["code"]);
    }

    [Fact]
    public async Task Resume_after_an_event_id_replays_what_was_missed_in_order()
    {
        var hub = Host.Service<TelemetryHub>();
        var meter = Host.Service<SimulatorService>().Simulator!.Sites[0].Meter;
        var last = hub.GetLast(meter)!.Id;
        await Eventually.UntilAsync(() => hub.GetLast(meter)!.Id > last + 30, "a few more readings of the meter"); // ids count every DER: 30 ≈ three ticks
        await using var client = await ConnectAsync();

        await client.SendAsync($$"""{"type":"subscribe","id":"r","subject":"{{meter.Subject}}","lastEventId":"{{hub.Epoch}}-{{last}}"}""");

        var ack = await client.ReceiveJsonAsync();
        Assert.Equal("complete", (string?)ack["resume"]);
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(SseClient.Sequence((string)(await client.ReceiveJsonAsync())["id"]!));
        }

        Assert.True(ids[0] > last);
        Assert.Equal(ids.Order(), ids);
        using var truth = hub.Subscribe(meter.Subject, new SubscribeOptions { ResumeAfter = last });
        Assert.True(truth.TryRead(out var firstMissed));
        Assert.Equal(firstMissed.Id, ids[0]);
    }

    [Fact]
    public async Task Status_subscriptions_get_the_present_status_of_matching_ders()
    {
        await using var client = await ConnectAsync();

        await client.SendAsync("""{"type":"subscribe","id":"st","kind":"status","subject":"orgs.demo.sites.site-1.>"}""");

        Assert.Equal("status", (string?)(await client.ReceiveJsonAsync())["kind"]);
        var statuses = new List<JsonNode>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add(await client.ReceiveJsonAsync());
        }

        Assert.All(statuses, s =>
        {
            Assert.Equal("status", (string?)s["type"]);
            Assert.Equal("CONNECTED", (string?)s["status"]);
            Assert.StartsWith("orgs.demo.sites.site-1.", (string)s["subject"]!, StringComparison.Ordinal);
        });
        Assert.Equal(["battery", "meter", "pv", "v2x_charger"], statuses.Select(s => (string)s["derType"]!).Order());
    }

    [Fact]
    public async Task A_message_in_several_frames_is_read_whole_after_the_bufferless_wait()
    {
        // The server waits for each message with an empty buffer and reads it into a pooled one once it starts.
        await using var client = await ConnectAsync();
        var message = """{"type":"ping","data":{"n":2}}"""u8.ToArray();

        await client.Socket.SendAsync(message.AsMemory(0, 5), WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None);
        await client.Socket.SendAsync(message.AsMemory(5, 10), WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None);
        await client.Socket.SendAsync(message.AsMemory(15), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        var pong = await client.ReceiveJsonAsync();

        Assert.Equal("pong", (string?)pong["type"]);
        Assert.Equal(2, (int)pong["data"]!["n"]!);
    }

    [Fact]
    public async Task An_oversized_message_closes_with_1009()
    {
        await using var client = await ConnectAsync();

        await client.SendAsync(new string('x', 10_000));

        Assert.Null(await client.ReceiveTextAsync());
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.Socket.CloseStatus);
    }

    [Fact]
    public async Task Shutting_down_closes_with_1001_and_a_reason()
    {
        var host = await WattstreamHost.StartAsync();
        var client = await WebSocketClient.ConnectAsync(host, "/ws");
        await client.ReceiveJsonAsync();
        await client.SendAsync("""{"type":"subscribe","id":"a","subject":">"}""");
        await client.ReceiveUntilAsync(m => Is(m, "reading"));

        var stopping = host.DisposeAsync().AsTask();
        string? text;
        do
        {
            text = await client.ReceiveTextAsync(TimeSpan.FromSeconds(10));
        }
        while (text is not null);

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, client.Socket.CloseStatus);
        Assert.Equal("server shutting down", client.Socket.CloseStatusDescription);
        await client.DisposeAsync(); // answers the close, as browsers do
        await stopping.WaitAsync(TimeSpan.FromSeconds(15));
    }
}
