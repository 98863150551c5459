using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Wattstream.Emulators.Whatwatt;

namespace Wattstream.Server.Tests;

/// <summary>
/// What the dashboard takes from a site's summary instead of working it out itself: the power-flow lines, signed toward
/// the home, and whether the site has gone silent (the hub's Status:StaleAfter).
/// </summary>
public class SummaryFlowTests
{
    private static async Task<JsonNode?> SummaryAsync(WattstreamHost host) =>
        JsonNode.Parse(await host.Client.GetStringAsync("/api/summaries"))!["summaries"]!.AsArray().SingleOrDefault();

    [Fact]
    public async Task A_summary_carries_the_flow_lines_and_turns_stale_when_the_site_falls_silent_and_fresh_when_it_reports()
    {
        await using var host = await WattstreamHost.StartAsync([.. EnergyTests.HomeSettings, "--Energy:SummaryInterval=00:00:00.100", "--Status:StaleAfter=00:00:01"]);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await EnergyTests.PushAsync(host.Client, EnergyTests.SiteReadings("acme", "home", now, 20_000, 0, 5_000, 1_000, 1_000, gridW: -400, pvW: -3000, batteryW: 1500));

        await Eventually.UntilAsync(async () => await SummaryAsync(host) is not null, "the site's summary");
        var fresh = (await SummaryAsync(host))!;
        Assert.False((bool)fresh["stale"]!);
        Assert.Equal(-400, (double)fresh["toHomeW"]!["grid"]!);     // exporting: away from the home
        Assert.Equal(3000, (double)fresh["toHomeW"]!["pv"]!);
        Assert.Equal(-1500, (double)fresh["toHomeW"]!["battery"]!); // charging: away from the home
        Assert.Null(fresh["toHomeW"]!["ev"]);
        Assert.Equal(1100, (double)fresh["homeW"]!);

        // Nothing more arrives: a second later the hub sends the summary again, stale, with the same balance.
        var events = await SseClient.ReadAsync(host.Client, "/stream/summaries", int.MaxValue, TimeSpan.FromSeconds(10), until: e => e.EventType == "summary" && (bool)JsonNode.Parse(e.Data)!["stale"]!);
        var stale = JsonNode.Parse(events[^1].Data)!;
        Assert.True((bool)stale["stale"]!);
        Assert.Equal(1100, (double)stale["homeW"]!);
        Assert.True((bool)(await SummaryAsync(host))!["stale"]!);

        // Readings again: fresh again. They keep coming while the test looks, as a device's would: a single reading is
        // fresh for only StaleAfter, a window a busy machine's timers and requests can miss.
        var register = 20_000;
        await Eventually.UntilAsync(
            async () =>
            {
                await EnergyTests.PushAsync(host.Client, EnergyTests.SiteReadings("acme", "home", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ++register, 0, 5_000, 1_000, 1_000, gridW: -400, pvW: -3000, batteryW: 1500));
                return (bool)(await SummaryAsync(host))!["stale"]! == false;
            },
            "a fresh summary after the readings");
    }

    [Fact]
    public async Task A_site_whose_source_connects_but_never_reports_is_stale()
    {
        // The emulator's one reading is made before the hub connects, then none for an hour: the hub hears nothing.
        await using var emulator = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = 0, Interval = TimeSpan.FromHours(1), Seed = 4 }, _ => { });
        await emulator.StartAsync();
        await using var host = await WattstreamHost.StartAsync(
            "--Sources:0:Id=home", "--Sources:0:Kind=whatwatt", $"--Sources:0:Url={emulator.BaseAddress}", "--Sources:0:Site=home", "--Sources:0:Der=77700011122",
            "--Status:StaleAfter=00:00:01", "--Status:SweepInterval=00:00:00.200", "--Energy:SummaryInterval=00:00:00.100");

        // The stale summary itself is checked: the source's idle watchdog may reconnect meanwhile, which makes the DER
        // connected (and the site fresh) again until the next StaleAfter.
        JsonNode? summary = null;
        await Eventually.UntilAsync(async () => (summary = await SummaryAsync(host)) is { } s && (bool)s["stale"]!, "a stale summary of the silent site");
        Assert.Equal("home", (string?)summary!["site"]);
        Assert.True(DateTimeOffset.TryParse((string?)summary["staleSince"], out _), summary.ToJsonString());
        Assert.Null(summary["homeW"]); // nothing to balance
    }

    [Fact]
    public async Task The_balance_over_time_is_balanced_as_the_summary_is_and_documented()
    {
        await using var host = await WattstreamHost.StartAsync([.. EnergyTests.HomeSettings]);
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        var minute = (start.ToUnixTimeMilliseconds() / 60_000 * 60_000) - 120_000;
        await EnergyTests.PushAsync(host.Client, EnergyTests.SiteReadings("acme", "home", minute, 20_000, 0, 5_000, 1_000, 1_000, gridW: 1200, pvW: -3000, batteryW: 1000));
        await EnergyTests.PushAsync(host.Client, EnergyTests.SiteReadings("acme", "home", minute + 60_000, 20_100, 0, 5_100, 1_000, 1_000, gridW: -400, pvW: -3000, batteryW: 1500));
        // A third minute only the meter has reported into: left out, not balanced with PV and battery as 0.
        await EnergyTests.PushAsync(host.Client, [EnergyTests.SiteReadings("acme", "home", minute + 120_000, 20_200, 0, 5_200, 1_000, 1_000).First()]);

        var from = DateTimeOffset.FromUnixTimeMilliseconds(minute).ToString("O");
        var to = DateTimeOffset.FromUnixTimeMilliseconds(minute + 180_000).ToString("O");
        var body = JsonNode.Parse(await host.Client.GetStringAsync($"/api/balance?site=home&from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}&step=1m"))!;

        Assert.Equal("acme", (string?)body["org"]);
        Assert.Equal("1m", (string?)body["step"]);
        var points = body["points"]!.AsArray();
        Assert.Equal(2, points.Count);
        Assert.Equal(3200, (double)points[0]!["homeW"]!);
        Assert.Equal(-1000, (double)points[0]!["toHomeW"]!["battery"]!);
        Assert.Equal(1100, (double)points[1]!["homeW"]!);
        Assert.Equal(-400, (double)points[1]!["toHomeW"]!["grid"]!);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(minute + 60_000), DateTimeOffset.Parse((string)points[1]!["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture));

        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        var schema = document["paths"]!["/api/balance"]!["get"]!["responses"]!["200"]!["content"]!["application/json"]!["schema"]!;
        var undocumented = OpenApiSchemaTests.Undocumented(document, body, schema, "/api/balance").ToList();
        Assert.True(undocumented.Count == 0, string.Join("\n", undocumented));
    }

    [Theory]
    [InlineData("/api/balance", HttpStatusCode.BadRequest, "missing_site")]
    [InlineData("/api/balance?site=nowhere", HttpStatusCode.NotFound, "site_not_found")]
    [InlineData("/api/balance?site=home&step=1x", HttpStatusCode.BadRequest, "invalid_step")]
    [InlineData("/api/balance?site=home&from=2026-01-01T00:00:00Z&to=2026-01-01T00:01:00Z&step=1s&org=acme", HttpStatusCode.OK, null)]
    [InlineData("/api/balance?site=home&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", HttpStatusCode.BadRequest, "range_too_large")]
    public async Task Bad_balance_queries_get_a_problem(string path, HttpStatusCode status, string? error)
    {
        await using var host = await WattstreamHost.StartAsync([.. EnergyTests.HomeSettings]);
        await EnergyTests.PushAsync(host.Client, EnergyTests.SiteReadings("acme", "home", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 20_000, 0, 5_000, 1_000, 1_000));

        using var response = await host.Client.GetAsync(path);

        Assert.Equal(status, response.StatusCode);
        if (error is not null)
        {
            Assert.Equal(error, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
        }
    }

    [Fact]
    public async Task A_caller_gets_the_balance_of_its_own_orgs_site_only_even_where_another_org_has_a_site_of_that_name()
    {
        await using var host = await AuthTests.StartTokenHostAsync([.. EnergyTests.HomeSettings]);
        var admin = AuthTests.Token(orgs: "*", scopes: "read publish");
        var t = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 60_000 * 60_000) - 300_000;
        await EnergyTests.PushAsync(host.Client, [
            .. EnergyTests.SiteReadings("acme", "home", t, 20_000, 0, 5_000, 1_000, 1_000, gridW: 1200, pvW: -3000, batteryW: 1000),
            .. EnergyTests.SiteReadings("globex", "home", t, 20_000, 0, 5_000, 1_000, 1_000, gridW: 9000, pvW: 0, batteryW: 0),
            .. EnergyTests.SiteReadings("globex", "plant", t, 20_000, 0, 5_000, 1_000, 1_000),
        ], admin);

        async Task<(HttpStatusCode Status, JsonNode? Body)> Get(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AuthTests.Token(orgs: "acme"));
            using var response = await host.Client.SendAsync(request);
            return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
        }

        var range = $"from={t - 60_000}&to={t + 60_000}&step=1m";
        var (status, body) = await Get($"/api/balance?site=home&{range}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("acme", (string?)body!["org"]);
        Assert.Equal([3200.0], body["points"]!.AsArray().Select(p => (double)p!["homeW"]!)); // never globex's 9 kW
        Assert.Equal(HttpStatusCode.NotFound, (await Get($"/api/balance?site=plant&{range}")).Status); // as if it did not exist
        Assert.Equal(HttpStatusCode.NotFound, (await Get($"/api/balance?site=home&org=globex&{range}")).Status);
    }
}
