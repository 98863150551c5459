using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Server.Simulation;
using Wattstream.Storage;

namespace Wattstream.Server.Tests;

/// <summary>/ws resumes the way SSE does: through the streaming core, from the ring or, older than it, from history.</summary>
public class WebSocketResumeTests
{
    [Fact]
    public async Task A_subscription_older_than_the_ring_gets_the_stored_readings_in_order_without_duplicates_then_live()
    {
        // A ring of 64 events (about 6 ticks of 10 DERs, 300 ms) keeps what the history writer has not stored yet on a busy
        // machine; the client's id is 25 ticks old, so most of what it missed comes from history.
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.050", "--Hub:ReplayCapacity=64", "--Storage:FlushInterval=00:00:00.020");
        var hub = host.Service<TelemetryHub>();
        var store = host.Service<IReadingStore>();
        var meter = host.Service<SimulatorService>().Simulator!.Sites[0].Meter;
        var firstId = hub.GetLast(meter)!.Id;
        await Eventually.UntilAsync(() => hub.GetLast(meter)!.Id > firstId + 250, "25 ticks: far more than the ring's 64 events");

        await using var client = await WebSocketClient.ConnectAsync(host, "/ws");
        Assert.Equal("hello", (string?)(await client.ReceiveJsonAsync())["type"]);
        var newestAtSubscribe = hub.Counters.LastEventId;
        await client.SendAsync($$"""{"type":"subscribe","id":"r","subject":"{{meter.Subject}}","format":"whatwatt","lastEventId":"{{hub.Epoch}}-{{firstId}}"}""");

        var ack = await client.ReceiveJsonAsync();
        Assert.Equal("subscribed", (string?)ack["type"]);
        Assert.Equal("complete", (string?)ack["resume"]);
        Assert.True((int)ack["fromHistory"]! >= 10, ack.ToJsonString());

        // Readings until one that was published after the subscription: the stored ones, the ring's, then live.
        var ids = new List<long>();
        while (ids.Count == 0 || ids[^1] <= newestAtSubscribe)
        {
            var reading = await client.ReceiveJsonAsync();
            Assert.Equal("reading", (string?)reading["type"]);
            Assert.Equal("whatwatt", (string?)reading["format"]);
            ids.Add(SseClient.Sequence((string)reading["id"]!));
        }

        var stored = (await store.ReadEventsAsync([meter], new EventPosition(hub.Epoch, firstId), EventPosition.Max, 10_000))
            .Select(e => e.Event.Sequence)
            .ToArray();
        Assert.Equal(ids.Order().Distinct(), ids); // in order, nothing twice
        Assert.True(ids[0] > firstId);
        var storedWhileReading = stored.Where(s => s <= ids[^1]).ToArray();
        Assert.Equal(storedWhileReading, ids.Take(storedWhileReading.Length)); // nothing the store holds was skipped
    }
}
