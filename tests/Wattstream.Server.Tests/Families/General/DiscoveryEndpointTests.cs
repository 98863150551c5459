using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

public class DiscoveryEndpointTests(SharedHost shared) : IClassFixture<SharedHost>
{
    [Fact]
    public async Task Sites_list_every_site_with_devices_ders_types_and_subjects()
    {
        var sites = JsonNode.Parse(await shared.Host.Client.GetStringAsync("/api/sites"))!.AsArray();

        Assert.Equal(["site-1", "site-2", "site-3"], sites.Select(s => (string)s!["site"]!));
        var site1 = sites[0]!;
        Assert.Equal("demo", (string?)site1["org"]);
        var ders = site1["devices"]!.AsArray().SelectMany(d => d!["ders"]!.AsArray()).ToArray();
        Assert.Equal(["battery", "meter", "pv", "v2x_charger"], ders.Select(d => (string)d!["type"]!).Order());
        Assert.All(ders, d => Assert.StartsWith("orgs.demo.sites.site-1.devices.", (string)d!["subject"]!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Meters_list_every_meter_with_its_status()
    {
        var meters = JsonNode.Parse(await shared.Host.Client.GetStringAsync("/api/meters"))!.AsArray();

        Assert.Equal(3, meters.Count);
        Assert.All(meters, m =>
        {
            Assert.Matches(@"^\d{11}$", (string)m!["meterNo"]!);
            Assert.Equal("CONNECTED", (string?)m["status"]);
            Assert.NotNull(m["lastSeen"]);
        });
    }
}
