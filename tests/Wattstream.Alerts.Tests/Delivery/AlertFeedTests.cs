using Microsoft.Extensions.Logging.Abstractions;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Storage.Alerts;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Tests;

public class AlertFeedTests
{
    private static AlertDraft Draft(string site, int i) => new("r", "low_voltage", i % 2 == 0 ? AlertState.Firing : AlertState.Resolved, $"#{i}", 1_790_000_000_000 + i, "acme", site, new DerAddress("acme", site, "gw", "m1"), 210, 220, null);

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
