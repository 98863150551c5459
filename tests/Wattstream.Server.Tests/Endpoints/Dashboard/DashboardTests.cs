using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wattstream.Emulators.Whatwatt;

namespace Wattstream.Server.Tests;

/// <summary>The dashboard at / in real Chromium (tests/e2e/dashboard.mjs), against a real host.</summary>
public class DashboardTests
{
    private static string ScreenshotDirectory()
    {
        var dir = Path.Combine(RepoFiles.Root, "artifacts", "screenshots");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static JsonNode Result(string output) => JsonNode.Parse(output.Split('\n').Last(l => l.StartsWith('{')))!;

    [Fact]
    public async Task The_dashboard_is_served_at_the_root()
    {
        await using var host = await WattstreamHost.StartAsync();

        using var page = await host.Client.GetAsync("/");
        using var script = await host.Client.GetAsync("/dashboard/app.js");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("/dashboard/app.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.True(script.Content.Headers.ContentLength > 10_000, "the bundle includes uPlot");
    }

    [Fact]
    public async Task The_fleet_view_lists_every_site_live_and_opens_a_site_whose_flow_moves_and_whose_energy_matches_the_api()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.500", "--Energy:SummaryInterval=00:00:00.300", "--Energy:TodayRefresh=00:00:02");
        var screenshots = ScreenshotDirectory();

        var (exit, output) = await BrowserTests.RunNodeAsync("dashboard.mjs", host.BaseAddress.ToString(), "v2", screenshots);

        Assert.True(exit == 0, output);
        var r = Result(output);
        Assert.Empty(r["consoleErrors"]!.AsArray());
        Assert.Empty(r["pageErrors"]!.AsArray());
        Assert.Equal(["site-1", "site-2", "site-3"], r["fleetSites"]!.AsArray().Select(s => (string)s!).Order());
        Assert.True((bool)r["fleetUpdates"]!, "the fleet updates live");
        Assert.Equal("ascending", (string?)r["sortState"]);
        Assert.Equal(["site-2"], r["filtered"]!.AsArray().Select(s => (string)s!));
        Assert.Equal("site-1", (string?)r["focusKept"]); // a redraw keeps a keyboard user's place
        Assert.Equal("#/sites/site-1", (string?)r["hash"]);
        Assert.True((bool)r["flowMoves"]!, "the flow's dots move between two screenshots");
        Assert.NotEmpty(r["movingLines"]!.AsArray());
        Assert.Equal((int)r["apiHours"]!, (int)r["todayBars"]!);
        // The current hour grows while we look: the bar (loaded a moment earlier) and the API agree to within 0.05 kWh.
        Assert.InRange((double)r["lastBarGridIn"]!, (double)r["apiLastHourGridIn"]! - 0.05, (double)r["apiLastHourGridIn"]! + 0.05);
        Assert.Equal($"{Math.Round((double)r["apiSufficiency"]! * 100)} %", (string?)r["gauge"]);
        Assert.EndsWith("CHF", (string?)r["cost"], StringComparison.Ordinal);
        Assert.True(r["fleetAxe"]!.AsArray().Count == 0, r["fleetAxe"]!.ToJsonString());
        Assert.True(r["siteAxe"]!.AsArray().Count == 0, r["siteAxe"]!.ToJsonString());
        Assert.Equal("light", (string?)r["theme"]);
        Assert.False((bool)r["fleetPhoneOverflow"]!, "no horizontal scrolling of the fleet at phone width");
        Assert.False((bool)r["sitePhoneOverflow"]!, "no horizontal scrolling of a site at phone width");
    }

    [Fact]
    public async Task Firing_alerts_show_per_site_and_a_new_alert_arrives_live()
    {
        // A rule the simulated battery of site 2 always breaks, beside the example set.
        await using var host = await WattstreamHost.StartAsync(
            "--Alerts:Rules:0:Id=battery-watch", "--Alerts:Rules:0:Type=threshold", "--Alerts:Rules:0:Org=demo", "--Alerts:Rules:0:Site=site-2",
            "--Alerts:Rules:0:Field=SoC_nom_fract", "--Alerts:Rules:0:Operator=>=", "--Alerts:Rules:0:Threshold=0");
        const string marker = "dashboard-marker-7<img src=x onerror=alert(1)>";
        var browser = BrowserTests.RunNodeAsync("dashboard.mjs", host.BaseAddress.ToString(), "alerts", "dashboard-marker-7");
        // Posted once the page has opened its alert stream (the endpoint's family is "alerts"), so the alert comes live.
        var supervisor = host.Service<Wattstream.Streaming.Sessions.StreamSupervisor>();
        await Eventually.UntilAsync(() => browser.IsCompleted || supervisor.SessionsByFamily().Any(f => f.Family == "alerts"), "the page's alert stream", TimeSpan.FromSeconds(60));
        Assert.False(browser.IsCompleted, browser.IsCompleted ? (await browser).Output : "");
        using var posted = await host.Client.PostAsync("/api/alerts?site=site-1", new StringContent(
            JsonSerializer.Serialize(new { type = "high_consumption", message = marker }), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);

        var (exit, output) = await browser;
        Assert.True(exit == 0, output);
        var r = Result(output);
        Assert.Empty(r["pageErrors"]!.AsArray());
        Assert.Empty(r["dialogs"]!.AsArray());
        var firing = r["firing"]!.AsArray();
        Assert.Contains(firing, f => (string?)f!["site"] == "site-2" && (string?)f["type"] == "threshold" && ((string?)f["text"])!.Contains("SoC_nom_fract", StringComparison.Ordinal));
        Assert.Contains("firing", (string?)r["count"], StringComparison.Ordinal);
        var newest = r["newest"]!.AsArray().Select(c => (string)c!).ToArray();
        Assert.Equal(["site-1", "high_consumption", "firing", marker], newest[1..]);
        Assert.Equal(0, (int)r["plantedElements"]!); // the markup stayed text
    }

    [Fact]
    public async Task A_person_sees_live_data_switches_sites_and_exports_the_meters()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.500");
        var screenshots = ScreenshotDirectory();

        var (exit, output) = await BrowserTests.RunNodeAsync("dashboard.mjs", host.BaseAddress.ToString(), "live", screenshots);

        Assert.True(exit == 0, output);
        var r = Result(output);
        Assert.Empty(r["consoleErrors"]!.AsArray());
        Assert.Empty(r["pageErrors"]!.AsArray());
        Assert.True((bool)r["valuesChanged"]!, "live values change");
        Assert.Equal("live", (string?)r["connection"]);
        Assert.Equal(1, (int)r["liveChart"]!);
        Assert.Equal("#62124022441", (string?)r["firstMeter"]);
        Assert.Equal("#62124022442", (string?)r["secondMeter"]);
        Assert.True((bool)r["evHiddenOnSecondSite"]!); // only site 1 has an EV charger
        Assert.Equal(3, (int)r["meterRows"]!);
        Assert.All(r["statuses"]!.AsArray(), s => Assert.Equal("CONNECTED", (string?)s));
        var csv = ((string)r["csv"]!).Split('\n');
        Assert.Equal("\"meterNo\",\"site\",\"status\",\"lastSeen\",\"power_kW\",\"l1_V\",\"energy_in_kWh\"", csv[0]);
        Assert.StartsWith("\"62124022441\",\"site-1\",\"CONNECTED\"", csv[1], StringComparison.Ordinal);
        Assert.Equal(1, (int)r["filteredRows"]!);
        Assert.Contains("format=csv", (string?)r["historyCsvHref"], StringComparison.Ordinal);
        Assert.Equal("true", (string?)r["dayPressed"]);
        Assert.False((bool)r["phoneOverflow"]!, "no horizontal scrolling at phone width");
        Assert.True(File.Exists(Path.Combine(screenshots, "dashboard-desktop.png")));
        Assert.True(File.Exists(Path.Combine(screenshots, "dashboard-phone.png")));
    }

    [Fact]
    public async Task A_meter_whose_source_goes_silent_shows_stale_with_a_banner()
    {
        // The emulator reports once and then not for an hour; the hub marks its meter STALE after a second.
        await using var emulator = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = 0, Interval = TimeSpan.FromHours(1), Seed = 4 }, _ => { });
        await emulator.StartAsync();
        await using var host = await WattstreamHost.StartAsync(
            "--Sources:0:Id=home",
            "--Sources:0:Kind=whatwatt",
            $"--Sources:0:Url={emulator.BaseAddress}",
            "--Sources:0:Site=home",
            "--Sources:0:Der=77700011122",
            "--Status:StaleAfter=00:00:01",
            "--Status:SweepInterval=00:00:00.200");

        var (exit, output) = await BrowserTests.RunNodeAsync("dashboard.mjs", host.BaseAddress.ToString(), "stale", "77700011122");

        Assert.True(exit == 0, output);
        var r = Result(output);
        Assert.True((bool)r["staleShown"]!);
        Assert.StartsWith("Data is stale since", (string?)r["banner"], StringComparison.Ordinal);
        Assert.Empty(r["pageErrors"]!.AsArray());
    }

    [Fact]
    public async Task With_tokens_the_dashboard_asks_to_sign_in_and_then_shows_only_the_tokens_site()
    {
        await using var host = await AuthTests.StartTokenHostAsync("--Simulation:Interval=00:00:00.500");

        var (exit, output) = await BrowserTests.RunNodeAsync("dashboard.mjs", host.BaseAddress.ToString(), "login", AuthTests.Token(sites: "site-2"));

        Assert.True(exit == 0, output);
        var r = Result(output);
        Assert.True((bool)r["loginShown"]!);
        Assert.Contains("token", (string?)r["loginError"], StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["site-2"], r["sites"]!.AsArray().Select(s => (string?)s));
        Assert.Equal("#62124022442", (string?)r["meter"]);
        Assert.Equal("live", (string?)r["connection"]); // the EventSource carries the session cookie
        Assert.False((bool)r["cookieVisibleToScript"]!); // HttpOnly
        Assert.Empty(r["pageErrors"]!.AsArray());
    }

    [Fact]
    public async Task Markup_planted_in_the_store_is_neither_served_nor_run_in_the_dashboard()
    {
        // An attacker with write access to the database plants a DER whose id is an XSS payload. The id grammar keeps
        // it from ever being accepted through the hub; here it goes straight into SQLite.
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-hostile-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        try
        {
            const string Payload = "<img/src=\"x\"/onerror=\"alert(document['domain'])\"";
            await using (var store = new Wattstream.Storage.Sqlite.SqliteReadingStore(Path.Combine(data, "wattstream.db")))
            {
                await store.MigrateAsync();
                await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "wattstream.db")}");
                await connection.OpenAsync();
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO ders (subject, org, site, device, der, type) VALUES (@s, 'demo', 'site-1', 'meter-x', @d, 'meter')";
                insert.Parameters.AddWithValue("@s", $"orgs.demo.sites.site-1.devices.meter-x.ders.{Payload}.telemetry.json.v1");
                insert.Parameters.AddWithValue("@d", Payload);
                await insert.ExecuteNonQueryAsync();
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            await using var host = await WattstreamHost.StartAsync($"--Storage:DataDirectory={data}");
            Assert.DoesNotContain("onerror", await host.Client.GetStringAsync("/api/meters"), StringComparison.Ordinal);

            var (exit, output) = await BrowserTests.RunNodeAsync("dashboard.mjs", host.BaseAddress.ToString(), "hostile");

            Assert.True(exit == 0, output);
            var r = Result(output);
            Assert.Empty(r["dialogs"]!.AsArray());
            Assert.Empty(r["pageErrors"]!.AsArray());
            Assert.Equal(0, (int)r["plantedElements"]!);
            Assert.False((bool)r["bodyHasPayload"]!);
            Assert.Equal(3, r["meters"]!.AsArray().Count); // the simulator's meters are shown as usual
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }
}
