using System.Net;
using System.Text.Json.Nodes;
using Wattstream.Server.Simulation;

namespace Wattstream.Server.Tests;

public class NovacoreEndpointTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private WattstreamHost Host => shared.Host;

    [Fact]
    public async Task A_site_stream_carries_every_der_of_the_site_as_unnamed_reading_events()
    {
        var site = Host.Service<SimulatorService>().Simulator!.Sites[0];

        var items = await SseClient.ReadAsync(Host.Client, $"/stream/sites/{site.SiteId}", 12, TimeSpan.FromSeconds(10));

        Assert.All(items, i => Assert.Equal("message", i.EventType));
        var readings = items.Select(i => JsonNode.Parse(i.Data)!).ToArray();
        Assert.Equal(["battery", "meter", "pv", "v2x_charger"], readings.Select(r => (string)r["type"]!).Distinct().Order());
        Assert.All(readings, r =>
        {
            Assert.True((long)r["timestamp"]! > 1_700_000_000_000);
            Assert.NotNull(r["read_time_ms"]);
            Assert.NotNull(r["W"]);
        });
        var pv = readings.First(r => (string?)r["type"] == "pv");
        Assert.True((double)pv["W"]! <= 0);
        var battery = readings.First(r => (string?)r["type"] == "battery");
        Assert.InRange((double)battery["SoC_nom_fract"]!, 0, 1);
        var meter = readings.First(r => (string?)r["type"] == "meter");
        Assert.NotNull(meter["L1_V"]);
        Assert.NotNull(meter["total_import_Wh"]);
    }

    [Fact]
    public async Task Another_sites_stream_has_only_its_own_ders()
    {
        var items = await SseClient.ReadAsync(Host.Client, "/stream/sites/site-2", 9, TimeSpan.FromSeconds(10));

        // Site 2 has no EV charger.
        Assert.DoesNotContain(items, i => (string?)JsonNode.Parse(i.Data)!["type"] == "v2x_charger");
    }

    [Theory]
    [InlineData("/stream/sites/no-such-site", HttpStatusCode.NotFound)]
    [InlineData("/stream/sites/site.1", HttpStatusCode.BadRequest)]
    [InlineData("/stream/sites/*", HttpStatusCode.BadRequest)]
    public async Task Unknown_and_malformed_sites_are_problems(string path, HttpStatusCode expected)
    {
        using var response = await Host.Client.GetAsync(path);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
