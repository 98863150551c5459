using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>The site view's charts in real Chromium (tests/e2e/dashboard-charts.mjs), asserted on their data and label boxes.</summary>
public class DashboardChartTests
{
    [Fact]
    public async Task The_live_chart_never_dips_at_its_newest_point_and_the_hour_labels_never_overlap()
    {
        // The site's day is late in the zone where it is latest now, so today has many hours (up to 24 labels).
        var zone = TimeZoneInfo.GetSystemTimeZones().Where(z => z.HasIanaId).MaxBy(z => TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, z).TimeOfDay)!;
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.500", $"--Sites:site-1:TimeZone={zone.Id}");
        // History to fill the live chart with when the page opens (the 10 s buckets it asks for), so the newest live
        // points are seen with a past.
        await Eventually.UntilAsync(async () =>
        {
            var now = DateTimeOffset.UtcNow;
            var body = JsonNode.Parse(await host.Client.GetStringAsync(
                $"/api/history?site=site-1&from={Uri.EscapeDataString(now.AddMinutes(-15).ToString("O"))}&to={Uri.EscapeDataString(now.ToString("O"))}&step=10s&fields=w&agg=avg"))!;
            return body["series"]!.AsArray().Count > 0 && body["series"]!.AsArray().All(s => s!["points"]!.AsArray().Count >= 3);
        }, "30 s of history", TimeSpan.FromSeconds(60));

        var (exit, output) = await BrowserTests.RunNodeAsync("dashboard-charts.mjs", host.BaseAddress.ToString(), "site-1");

        Assert.True(exit == 0, output);
        var r = JsonNode.Parse(output.Split('\n').Last(l => l.StartsWith('{')))!;
        Assert.Empty(r["pageErrors"]!.AsArray());
        Assert.Empty(r["consoleErrors"]!.AsArray());
        Assert.True((int)r["snapshots"]! >= 8, output);
        Assert.True(r["dips"]!.AsArray().Count == 0, $"a series dropped to 0 at the newest point: {r["dips"]!.ToJsonString()} in {r["series"]!.ToJsonString()}");
        Assert.True((int)r["hours"]! >= 12, output);
        Assert.True(r["negativeZeros"]!.AsArray().Count == 0, $"the page shows a negative zero: {r["negativeZeros"]!.ToJsonString()}");
        foreach (var width in r["widths"]!.AsArray())
        {
            Assert.True(width!["overlaps"]!.AsArray().Count == 0, $"hour labels overlap at {width["width"]} px: {width.ToJsonString()}");
            Assert.True(width["clipped"]!.AsArray().Count == 0, $"hour labels are cut off at {width["width"]} px: {width.ToJsonString()}");
            Assert.True(width["shown"]!.AsArray().Count >= 2, $"the hours are labelled at {width["width"]} px: {width.ToJsonString()}");
        }
    }
}
