using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>Energy insights on a real host: periods from pushed registers, summaries on SSE, /ws and REST, access per org.</summary>
public class EnergyTests
{
    private static readonly DateTimeOffset Yesterday = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-1);

    private static long At(int hour, int minute) => Yesterday.AddHours(hour).AddMinutes(minute).ToUnixTimeMilliseconds();

    internal static IEnumerable<string> SiteReadings(string org, string site, long t, double importWh, double exportWh, double pvWh, double chargeWh, double dischargeWh, double gridW = 500, double pvW = -3000, double batteryW = 1000) =>
    [
        $$"""{"org":"{{org}}","site":"{{site}}","device":"gw","der":"m1","type":"meter","timestamp":{{t}},"W":{{gridW}},"total_import_Wh":{{importWh}},"total_export_Wh":{{exportWh}}}""",
        $$"""{"org":"{{org}}","site":"{{site}}","device":"inv","der":"pv1","type":"pv","timestamp":{{t}},"W":{{pvW}},"total_generation_Wh":{{pvWh}}}""",
        $$"""{"org":"{{org}}","site":"{{site}}","device":"bms","der":"b1","type":"battery","timestamp":{{t}},"W":{{batteryW}},"SoC_nom_fract":0.5,"total_charge_Wh":{{chargeWh}},"total_discharge_Wh":{{dischargeWh}}}""",
    ];

    internal static async Task PushAsync(HttpClient client, IEnumerable<string> readings, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/readings?durable=true") { Content = new StringContent(string.Join('\n', readings), Encoding.UTF8, "application/x-ndjson") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // Yesterday 09:59 (the baseline), 10:30 and 11:30: hour 10 imports 0.5 kWh, exports 1, PV 3, battery in 1 → home 1.5;
    // hour 11 imports 1.5, PV 3, battery out 0.5 → home 5.
    private static IEnumerable<string> TwoHours(string org = "acme", string site = "home") =>
    [
        .. SiteReadings(org, site, At(9, 59), 10_000, 5_000, 100_000, 50_000, 40_000),
        .. SiteReadings(org, site, At(10, 30), 10_500, 6_000, 103_000, 51_000, 40_000),
        .. SiteReadings(org, site, At(11, 30), 12_000, 6_000, 106_000, 51_000, 40_500),
    ];

    internal static readonly string[] HomeSettings = ["--Simulation:Enabled=false", "--Sites:home:TimeZone=Etc/UTC", "--Sites:home:Tariff:Currency=EUR", "--Sites:home:Tariff:Import=0.30", "--Sites:home:Tariff:FeedIn=0.08"];

    [Fact]
    public async Task Hourly_and_daily_energy_come_from_the_registers_with_cost_and_ratios_as_json_and_csv()
    {
        await using var host = await WattstreamHost.StartAsync(HomeSettings);
        await PushAsync(host.Client, TwoHours());
        var from = Yesterday.AddHours(10).ToString("O");
        var to = Yesterday.AddHours(12).ToString("O");

        var hourly = JsonNode.Parse(await host.Client.GetStringAsync($"/api/energy?site=home&period=hour&from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}"))!;
        Assert.Equal("EUR", (string?)hourly["currency"]);
        Assert.Equal("Etc/UTC", (string?)hourly["timeZone"]);
        var hours = hourly["periods"]!.AsArray();
        Assert.Equal(2, hours.Count);
        Assert.Equal([0.5, 1.0, 3, 1, 0, 1.5], new[] { "gridImportKwh", "gridExportKwh", "pvKwh", "batteryInKwh", "batteryOutKwh", "homeKwh" }.Select(k => (double)hours[0]![k]!));
        Assert.Equal([1.5, 0.0, 3, 0, 0.5, 5], new[] { "gridImportKwh", "gridExportKwh", "pvKwh", "batteryInKwh", "batteryOutKwh", "homeKwh" }.Select(k => (double)hours[1]![k]!));
        Assert.True((bool)hours[0]!["complete"]!);
        Assert.Equal(0.15, (double)hours[0]!["cost"]!);      // 0.5 kWh × 0.30
        Assert.Equal(0.08, (double)hours[0]!["earnings"]!);  // 1 kWh × 0.08
        Assert.Equal(0.6667, (double)hours[0]!["selfSufficiency"]!);
        Assert.Equal(0.6667, (double)hours[0]!["selfConsumption"]!);
        Assert.StartsWith(Yesterday.AddHours(10).ToString("yyyy-MM-dd'T'HH", System.Globalization.CultureInfo.InvariantCulture), (string?)hours[0]!["start"], StringComparison.Ordinal);

        var day = JsonNode.Parse(await host.Client.GetStringAsync($"/api/energy?site=home&period=day&from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}"))!["periods"]!.AsArray().Single()!;
        Assert.Equal(2, (double)day["gridImportKwh"]!);
        Assert.Equal(6.5, (double)day["homeKwh"]!);
        Assert.False((bool)day["complete"]!); // only two hours of the day have readings
        Assert.Contains("no data for part of the period", day["notes"]!.AsArray().Select(n => (string?)n));

        var csv = await host.Client.GetStringAsync($"/api/energy?site=home&period=hour&from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}&format=csv");
        Assert.StartsWith("start,end,complete,grid_import_kwh,grid_export_kwh,pv_kwh,", csv, StringComparison.Ordinal);
        Assert.Contains(",true,0.5,1,3,1,0,0,0,1.5,", csv, StringComparison.Ordinal);

        using var unknown = await host.Client.GetAsync("/api/energy?site=nowhere");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var bad = await host.Client.GetAsync("/api/energy?site=home&period=week");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Summaries_reach_sse_ws_and_rest_with_todays_energy()
    {
        await using var host = await WattstreamHost.StartAsync([.. HomeSettings, "--Energy:SummaryInterval=00:00:00.100", "--Energy:TodayRefresh=00:00:01"]);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await PushAsync(host.Client, SiteReadings("acme", "home", now - 1000, 20_000, 0, 5_000, 1_000, 1_000, gridW: 1200, pvW: -3000, batteryW: 1000));

        var events = await SseClient.ReadAsync(host.Client, "/stream/sites/home/summary", 1, TimeSpan.FromSeconds(10));
        var summary = JsonNode.Parse(events[0].Data)!;
        Assert.Equal("summary", events[0].EventType);
        Assert.Equal(3200, (double)summary["homeW"]!);
        Assert.Equal(0.625, (double)summary["selfSufficiency"]!);
        Assert.Equal(0.5, (double)summary["batterySoc"]!);

        await using var ws = await WebSocketClient.ConnectAsync(host, "/ws");
        await ws.ReceiveJsonAsync();
        await ws.SendAsync("""{"type":"subscribe","id":"e","kind":"summary","subject":"orgs.acme.>"}""");
        var message = await ws.ReceiveUntilAsync(m => (string?)m["type"] == "summary");
        Assert.Equal("orgs.acme.sites.home.summary.json.v1", (string?)message["subject"]);
        Assert.Equal(3200, (double)message["data"]!["homeW"]!);

        // A second reading a minute later counts into today: 0.1 kWh imported (from history's registers).
        await PushAsync(host.Client, SiteReadings("acme", "home", now, 20_100, 0, 5_000, 1_000, 1_000, gridW: 1200, pvW: -3000, batteryW: 1000));
        await Eventually.UntilAsync(
            async () => JsonNode.Parse(await host.Client.GetStringAsync("/api/summaries"))!["summaries"]![0]!["today"] is JsonObject today && (double)today["gridImportKwh"]! > 0,
            "today's energy in the summary");
        var rest = JsonNode.Parse(await host.Client.GetStringAsync("/api/summaries"))!["summaries"]!.AsArray().Single()!;
        Assert.Equal(0.1, (double)rest["today"]!["gridImportKwh"]!);
        Assert.Equal("EUR", (string?)rest["today"]!["currency"]);
        Assert.Equal(0.03, (double)rest["today"]!["cost"]!);
    }

    [Fact]
    public async Task The_simulated_sites_have_summaries_with_a_tariff_in_one_fleet_stream()
    {
        await using var host = await WattstreamHost.StartAsync("--Energy:SummaryInterval=00:00:00.200");

        var events = await SseClient.ReadAsync(host.Client, "/stream/summaries", 3, TimeSpan.FromSeconds(15));

        Assert.Equal(["site-1", "site-2", "site-3"], events.Select(e => (string)JsonNode.Parse(e.Data)!["site"]!).Distinct().Order());
        Assert.All(events, e => Assert.NotNull(JsonNode.Parse(e.Data)!["homeW"]));
    }

    [Fact]
    public async Task A_caller_sees_only_its_orgs_sites_energy()
    {
        await using var host = await AuthTests.StartTokenHostAsync([.. HomeSettings, "--Energy:SummaryInterval=00:00:00.100"]);
        var admin = AuthTests.Token(orgs: "*", scopes: "read publish");
        await PushAsync(host.Client, [.. TwoHours("acme", "home"), .. TwoHours("globex", "plant")], admin);
        var acme = AuthTests.Token(orgs: "acme");

        async Task<(HttpStatusCode, string)> Get(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", acme);
            using var response = await host.Client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.OK, (await Get("/api/energy?site=home")).Item1);
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/api/energy?site=plant")).Item1); // as if it did not exist
        await Eventually.UntilAsync(async () => (await Get("/api/summaries")).Item2.Contains("\"home\"", StringComparison.Ordinal), "acme's summary");
        var (_, summaries) = await Get("/api/summaries");
        Assert.Equal(["acme"], JsonNode.Parse(summaries)!["summaries"]!.AsArray().Select(s => (string?)s!["org"]).Distinct());
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/stream/sites/plant/summary")).Item1);
    }
}
