using Microsoft.Extensions.Logging.Abstractions;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Storage.Alerts;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Tests;

public class AlertFeedTests
{
    private static AlertDraft Draft(string site, int i) => new("r", "low_voltage", i % 2 == 0 ? AlertState.Firing : AlertState.Resolved, $"#{i}", 1_790_000_000_000 + i, "acme", site, new DerAddress("acme", site, "gw", "m1"), 210, 220, null);

    private static List<Alert> Drain(Wattstream.Hub.FeedSubscription<Alert> subscription)
    {
        var items = new List<Alert>();
        while (subscription.TryRead(out var a))
        {
            items.Add(a);
        }

        return items;
    }

    [Fact]
    public async Task Resume_replays_from_the_store_then_the_ring_then_live_without_gaps_or_repeats()
    {
        var feed = new AlertFeed(new MemoryAlertStore(), NullLogger<AlertFeed>.Instance);
        for (var i = 0; i < AlertFeed.RingCapacity + 200; i++)
        {
            await feed.PublishAsync(Draft(i % 3 == 0 ? "home" : "cabin", i));
        }

        // Alert 50 left the ring long ago: the store has the rest. Only "home" alerts pass the filter.
        using var subscription = await feed.SubscribeAsync(a => a.Site == "home", new AlertQuery { Site = "home" }, resumeAfter: 50);
        await feed.PublishAsync(Draft("home", 9999));
        await feed.PublishAsync(Draft("cabin", 9998));

        var ids = Drain(subscription).Select(a => a.Id).ToArray();
        var expected = Enumerable.Range(51, AlertFeed.RingCapacity + 200 - 50).Where(id => (id - 1) % 3 == 0).Select(id => (long)id).Append(AlertFeed.RingCapacity + 201).ToArray();
        Assert.Equal(expected, ids);
    }

    [Fact]
    public async Task The_json_carries_the_id_first_and_the_seeds_fields()
    {
        var feed = new AlertFeed(new MemoryAlertStore(), NullLogger<AlertFeed>.Instance);
        var alert = await feed.PublishAsync(Draft("home", 0));
        var json = System.Text.Json.Nodes.JsonNode.Parse(alert.Json.Span)!;

        Assert.StartsWith("{\"id\":1,", System.Text.Encoding.UTF8.GetString(alert.Json.Span), StringComparison.Ordinal);
        foreach (var name in new[] { "id", "rule", "type", "state", "message", "timestamp", "site", "der", "value", "threshold", "data" })
        {
            Assert.True(json.AsObject().ContainsKey(name), name);
        }

        Assert.Equal("2026-09-21T14:13:20.000Z", (string?)json["timestamp"]);
        Assert.Single(feed.Active(_ => true));
    }
}
