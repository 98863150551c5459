using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Server.Simulation;

namespace Wattstream.Server.Tests;

/// <summary>Gaps found when real clients were run against the hub (issue 12), each against the real host.</summary>
public class CompatibilityTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private static readonly string[] MetricKeys =
    [
        "power_kw", "reactive_power_kvar", "apparent_power_kva", "voltage_ll_v", "voltage_ln_v", "current_a", "frequency_hz",
        "power_factor", "dc_power_kw", "dc_voltage_v", "dc_current_a", "state_of_charge_pct", "soc_reserve_min_pct",
        "soc_reserve_max_pct", "soc_min_pct", "soc_max_pct", "timestamp",
    ];

    private static readonly string[] PqKeys = ["active_kw", "reactive_kvar", "apparent_kva", "angle_deg"];

    private WattstreamHost Host => shared.Host;

    [Fact]
    public async Task The_seeds_node_client_finds_every_documented_dersim_key_filled_consistently_by_the_demo()
    {
        var url = new UriBuilder(Host.BaseAddress) { Scheme = "ws", Path = "/api/dersim/ws/telemetry" }.Uri;

        var (exit, output) = await BrowserTests.RunNodeAsync("dersim-client.mjs", url.ToString(), "14");

        Assert.True(exit == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(14, lines.Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\d\d:\d\d:\d\d: -?\d+\.\d\d kW$")));
        var summary = JsonNode.Parse(lines[^1])!;
        Assert.Empty(summary["missing"]!.AsArray());
        Assert.Empty(summary["consistency"]!.AsArray());
        var nulls = summary["nulls"]!.AsObject();
        // A battery has every value; a PV inverter has no state of charge; a charger no DC side and no battery limits.
        Assert.Empty(nulls["battery"]!.AsArray());
        Assert.Equal(["metrics.soc_max_pct", "metrics.soc_min_pct", "metrics.soc_reserve_max_pct", "metrics.soc_reserve_min_pct", "metrics.state_of_charge_pct"], Strings(nulls["pv"]!));
        Assert.All(Strings(nulls["evse"]!), k => Assert.True(k.StartsWith("metrics.soc_", StringComparison.Ordinal) || k.StartsWith("metrics.dc_", StringComparison.Ordinal) || k == "metrics.state_of_charge_pct", k));
    }

    [Fact]
    public async Task The_rest_overview_has_every_documented_key_too()
    {
        var devices = JsonNode.Parse(await Host.Client.GetStringAsync("/api/dersim/devices"))!.AsArray();
        Assert.NotEmpty(devices);
        for (var i = 0; i < devices.Count; i++)
        {
            var overview = JsonNode.Parse(await Host.Client.GetStringAsync($"/api/dersim/overview?device={i}"))!.AsObject();
            var metrics = overview["metrics"]!.AsObject();
            var pq = overview["pq"]!.AsObject();
            Assert.All(MetricKeys, k => Assert.True(metrics.ContainsKey(k), $"device {i}: metrics.{k}"));
            Assert.All(PqKeys, k => Assert.True(pq.ContainsKey(k), $"device {i}: pq.{k}"));
        }
    }

    [Fact]
    public async Task A_hes_read_request_answers_each_meter_and_obis_code_then_completed()
    {
        var meterNo = Host.Service<SimulatorService>().Simulator!.Sites[0].MeterNumber;
        var body = $$"""{"meterType":"MD","meters":["{{meterNo}}","nope"],"obisString":["1-0:1.8.0","1.8.1","32.7.0","14.7.0","0.9.1","99.99.9"]}""";

        var events = await PostSseAsync("/hes/service/stream", body);

        Assert.Equal(13, events.Count);
        var readings = events.Take(12).ToArray();
        Assert.All(readings, e => Assert.Equal("reading", e.EventType));
        var byKey = readings.Select(e => JsonNode.Parse(e.Data)!).ToDictionary(r => ((string)r["meterNo"]!, (string)r["obisString"]!));
        var energy = byKey[(meterNo, "1-0:1.8.0")];
        Assert.Equal(0, (int)energy["statuscode"]!);
        Assert.Contains("kWh", (string)energy["desc"]!, StringComparison.Ordinal);
        var last = Host.Service<TelemetryHub>().GetLast(Host.Service<SimulatorService>().Simulator!.Sites[0].Meter)!.Reading;
        Assert.InRange(double.Parse((string)energy["value"]!, System.Globalization.CultureInfo.InvariantCulture), last.Get(Telemetry.Quantity.EnergyImport, Telemetry.Unit.KilowattHour)!.Value - 1, last.Get(Telemetry.Quantity.EnergyImport, Telemetry.Unit.KilowattHour)!.Value + 1);
        Assert.Equal(0, (int)byKey[(meterNo, "32.7.0")]["statuscode"]!);
        Assert.Matches(@"^\d\d:\d\d:\d\d$", (string)byKey[(meterNo, "0.9.1")]["value"]!);
        Assert.Equal(-1, (int)byKey[(meterNo, "99.99.9")]["statuscode"]!);
        Assert.Contains("not mapped", (string)byKey[(meterNo, "99.99.9")]["statusmessage"]!, StringComparison.Ordinal);
        Assert.All(readings.Select(e => JsonNode.Parse(e.Data)!).Where(r => (string)r["meterNo"]! == "nope"), r =>
        {
            Assert.Equal(-1, (int)r["statuscode"]!);
            Assert.Contains("Unknown meter", (string)r["statusmessage"]!, StringComparison.Ordinal);
        });
        Assert.Equal("completed", events[^1].EventType);
        Assert.Equal(0, (int)JsonNode.Parse(events[^1].Data)!["statuscode"]!);
    }

    [Fact]
    public async Task A_hes_read_request_that_reads_nothing_ends_with_a_warning()
    {
        var events = await PostSseAsync("/hes/service/stream", """{"meterType":"Non-MD","meters":["nope"],"obisString":["1.8.0"]}""");

        Assert.Equal(["reading", "warning"], events.Select(e => e.EventType));
        Assert.Equal(-1, (int)JsonNode.Parse(events[1].Data)!["statuscode"]!);
        Assert.False(string.IsNullOrEmpty((string?)JsonNode.Parse(events[1].Data)!["statusmessage"]));
    }

    [Theory]
    [InlineData("""{"meterType":"XL","meters":["1"],"obisString":["1.8.0"]}""", "invalid_meter_type")]
    [InlineData("""{"meterType":"MD","meters":[],"obisString":["1.8.0"]}""", "invalid_meters")]
    [InlineData("""{"meterType":"MD","meters":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21"],"obisString":["1.8.0"]}""", "invalid_meters")]
    [InlineData("""{"meterType":"MD","meters":["1"]}""", "invalid_obis")]
    [InlineData("""{"meterType":"MD","meters":["1"],"obisString":"1.8.0"}""", "malformed_json")]
    [InlineData("""not json""", "malformed_json")]
    public async Task A_bad_hes_read_request_is_a_400_problem(string body, string error)
    {
        using var response = await Host.Client.PostAsync("/hes/service/stream", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(error, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
    }

    [Fact]
    public async Task More_than_fifty_obis_codes_is_a_400_problem()
    {
        var codes = string.Join(',', Enumerable.Range(0, 51).Select(_ => "\"1.8.0\""));
        using var response = await Host.Client.PostAsync("/hes/service/stream", new StringContent($$"""{"meterType":"MD","meters":["1"],"obisString":[{{codes}}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_obis", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
    }

    [Fact]
    public async Task Oversized_headers_get_a_431_problem_document()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sites");
        request.Headers.Add("X-Big", new string('a', 40 * 1024));

        using var response = await Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("headers_too_large", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
    }

    [Theory]
    [InlineData("GET /api/sites HTTP/1.1 extra\r\nHost: h\r\n\r\n", 400, "bad_request")] // a malformed request line
    [InlineData("GET /api/sites HTTP/1.1\r\nBad Header: x\r\nHost: h\r\n\r\n", 400, "bad_request")] // a malformed header line
    [InlineData("GET /{long} HTTP/1.1\r\nHost: h\r\n\r\n", 414, "uri_too_long")]
    public async Task Requests_kestrel_rejects_before_the_hub_sees_them_get_problem_documents_too(string raw, int status, string error)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(Host.BaseAddress.Host, Host.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(raw.Replace("{long}", new string('a', 20_000), StringComparison.Ordinal)));

        using var reader = new StreamReader(stream, Encoding.ASCII);
        var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10)); // Kestrel closes after a rejection

        Assert.StartsWith($"HTTP/1.1 {status} ", response, StringComparison.Ordinal);
        Assert.Contains("\r\nContent-Type: application/problem+json\r\n", response, StringComparison.Ordinal);
        var body = JsonNode.Parse(response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..])!;
        Assert.Equal(status, (int)body["status"]!);
        Assert.Equal(error, (string?)body["error"]);
    }

    [Fact]
    public async Task A_normal_request_on_the_same_server_is_untouched_by_the_rejection_check()
    {
        using var response = await Host.Client.GetAsync("/api/no-such-thing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    private async Task<List<SseItem<string>>> PostSseAsync(string path, string body)
    {
        using var response = await Host.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            items.Add(item);
        }

        return items;
    }

    private static string[] Strings(JsonNode array) => array.AsArray().Select(n => (string)n!).ToArray();
}

/// <summary>Hosts of their own: a body limit, and history across a restart.</summary>
public class CompatibilityHostTests
{
    [Fact]
    public async Task A_body_over_kestrels_limit_gets_a_413_problem_document()
    {
        await using var host = await WattstreamHost.StartAsync("--Kestrel:Limits:MaxRequestBodySize=1000");

        using var response = await host.Client.PostAsync("/hes/service/stream", new StringContent(new string(' ', 5000) + "{}", Encoding.UTF8, "application/json"));

        Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("too_large", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
    }

    [Fact]
    public async Task A_meter_known_only_from_history_is_listed_queryable_and_resumable_after_a_restart()
    {
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-restart-{Guid.NewGuid():N}");
        try
        {
            string eventId;
            var t0 = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();
            await using (var first = await WattstreamHost.StartAsync($"--Storage:DataDirectory={data}", "--Storage:FlushInterval=00:00:00.020"))
            {
                var push = string.Join('\n', Enumerable.Range(0, 3).Select(i =>
                    $$"""{"org":"old","site":"barn","device":"gw","der":"77700011122","type":"meter","timestamp":{{t0 + (i * 1000)}},"W":{{100 + i}}}"""));
                using var pushed = await first.Client.PostAsync("/api/readings", new StringContent(push, Encoding.UTF8, "application/x-ndjson"));
                Assert.Equal(HttpStatusCode.OK, pushed.StatusCode);
                eventId = (string)JsonNode.Parse(await pushed.Content.ReadAsStringAsync())!["accepted"]![0]!["eventId"]!;
                await Eventually.UntilAsync(async () => JsonNode.Parse(await first.Client.GetStringAsync("/api/storage"))!["written"]!.GetValue<long>() >= 3, "the pushed readings stored");
            }

            await using var second = await WattstreamHost.StartAsync($"--Storage:DataDirectory={data}");

            var meter = JsonNode.Parse(await second.Client.GetStringAsync("/api/meters"))!.AsArray().Single(m => (string)m!["meterNo"]! == "77700011122")!;
            Assert.Equal("UNKNOWN", (string?)meter["status"]);
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(t0 + 2000).UtcDateTime, DateTime.Parse((string)meter["lastSeen"]!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal));
            Assert.Contains(JsonNode.Parse(await second.Client.GetStringAsync("/api/sites"))!.AsArray(), s => (string)s!["site"]! == "barn");

            var from = DateTimeOffset.FromUnixTimeMilliseconds(t0 - 60_000).ToString("O");
            var history = JsonNode.Parse(await second.Client.GetStringAsync($"/api/history?der=77700011122&from={Uri.EscapeDataString(from)}&step=1s&fields=w"))!;
            Assert.Equal([100.0, 101.0, 102.0], history["series"]![0]!["points"]!.AsArray().Select(p => (double)p!["w"]!));

            // Resuming after the first pushed reading's id (an earlier run's) gets the other two, from history.
            var resumed = await SseClient.ReadAsync(second.Client, "/api/v1/live?meter=77700011122", 2, TimeSpan.FromSeconds(10), lastEventId: eventId);
            Assert.Equal(2, resumed.Count);
            Assert.All(resumed, r => Assert.Equal("live", r.EventType));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }
}
