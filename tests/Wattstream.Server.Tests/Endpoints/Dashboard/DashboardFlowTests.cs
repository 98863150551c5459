using System.Globalization;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>
/// The dashboard shows the hub's power flow and the hub's staleness (tests/e2e/dashboard-flow.mjs in real Chromium):
/// it works out neither itself.
/// </summary>
public class DashboardFlowTests
{
    private static string Kw(JsonNode? watts) => (Math.Abs((double)watts!) / 1000).ToString("0.00", CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_site_view_shows_the_summarys_flow_lines_and_home_and_is_stale_only_when_the_hub_says_so()
    {
        // Meters that disagree: 2 kW exported while PV and battery are idle. The hub clamps home at 0; a page that
        // balanced the readings itself would show 2 kW of home use.
        await using var host = await WattstreamHost.StartAsync([.. EnergyTests.HomeSettings, "--Energy:SummaryInterval=00:00:00.200", "--Status:StaleAfter=00:01:00"]);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // Two minutes ago, in balance: the live chart's past comes from the hub's balance history.
        await EnergyTests.PushAsync(host.Client, EnergyTests.SiteReadings("acme", "home", now - 120_000, 19_900, 0, 4_900, 1_000, 1_000, gridW: 1200, pvW: -3000, batteryW: 1000));
        await EnergyTests.PushAsync(host.Client, EnergyTests.SiteReadings("acme", "home", now, 20_000, 0, 5_000, 1_000, 1_000, gridW: -2000, pvW: 0, batteryW: 0));

        var (exit, output) = await BrowserTests.RunNodeAsync("dashboard-flow.mjs", host.BaseAddress.ToString(), "home", "12");

        Assert.True(exit == 0, output);
        var r = JsonNode.Parse(output.Split('\n').Last(l => l.StartsWith('{')))!;
        Assert.Empty(r["pageErrors"]!.AsArray());
        Assert.Empty(r["consoleErrors"]!.AsArray());
        var summary = r["summary"]!;
        Assert.Equal(0, (double)summary["homeW"]!);
        var open = r["atOpen"]!;
        Assert.Equal(Kw(summary["homeW"]), (string?)open["nodes"]!["house"]);
        Assert.Equal(Kw(summary["toHomeW"]!["grid"]), (string?)open["nodes"]!["grid"]);
        Assert.Equal(Kw(summary["toHomeW"]!["pv"]), (string?)open["nodes"]!["pv"]);
        Assert.Equal(Kw(summary["toHomeW"]!["battery"]), (string?)open["nodes"]!["battery"]);
        Assert.Equal("exporting", (string?)open["notes"]!["grid"]);
        Assert.Equal("idle", (string?)open["notes"]!["battery"]);
        // The grid's dots run away from the home (the summary's line is negative); idle lines stand still.
        Assert.True((bool)open["lines"]!["grid"]!["moving"]! && (bool)open["lines"]!["grid"]!["reverse"]!, open.ToJsonString());
        Assert.False((bool)open["lines"]!["pv"]!["moving"]!);
        Assert.False((bool)open["lines"]!["battery"]!["moving"]!);
        Assert.True((bool)open["bannerHidden"]!);
        // The live chart's first point is that past bucket, balanced by the hub: house 3.2 kW, the battery charging.
        var past = r["pastPoint"]!.AsArray();
        Assert.Equal(3200, (double)past[5]!); // [time, grid, pv, battery, ev, house]
        Assert.Equal(1000, (double)past[3]!);

        // 12 s without a reading is well inside the hub's StaleAfter (1 min): the hub says fresh, and so does the page.
        Assert.False((bool)r["summaryAfterQuiet"]!["stale"]!);
        Assert.True((bool)r["afterQuiet"]!["bannerHidden"]!, r["afterQuiet"]!.ToJsonString());
        Assert.Equal("live", (string?)r["fleetStatus"]!["text"]);
        Assert.Equal("CONNECTED", (string?)r["fleetStatus"]!["badge"]);
    }
}
