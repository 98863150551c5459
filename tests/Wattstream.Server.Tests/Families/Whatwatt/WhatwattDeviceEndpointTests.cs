using System.Net;
using System.Text.Json.Nodes;
using Wattstream.Server.Simulation;

namespace Wattstream.Server.Tests;

public class WhatwattDeviceEndpointTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private WattstreamHost Host => shared.Host;

    private string MeterNo(int site) => Host.Service<SimulatorService>().Simulator!.Sites[site - 1].MeterNumber;

    [Fact]
    public async Task Report_has_the_device_report_shape()
    {
        await SseClient.ReadAsync(Host.Client, $"/api/v1/live?meter={MeterNo(2)}", 2, TimeSpan.FromSeconds(10)); // an interval needs two readings
        using var response = await Host.Client.GetAsync($"/api/v1/report?meter={MeterNo(2)}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var report = body["report"]!;
        Assert.True((long)report["id"]! > 0);
        Assert.InRange((double)report["interval"]!, 0.1, 0.45); // the test host's simulator reports every 0.2 s
        Assert.InRange((int)report["tariff"]!, 1, 2);
        Assert.Matches(@"Z$", (string)report["date_time_utc"]!);
        Assert.Matches(@"[+-]\d\d:\d\d$", (string)report["date_time_local"]!);
        foreach (var path in new[]
        {
            "instantaneous_power.active.positive.total", "instantaneous_power.active.negative.l3", "instantaneous_power.reactive.positive.total",
            "voltage.l1", "current.l2", "energy.active.positive.t1", "energy.active.negative.total", "energy.reactive.imported.inductive.total", "power_factor",
        })
        {
            var node = path.Split('.').Aggregate<string, JsonNode?>(report, (n, key) => n?[key]);
            Assert.True(node is not null, $"report.{path} missing");
        }

        Assert.InRange((double)report["voltage"]!["l1"]!, 220, 240);
        Assert.Equal("OK", (string?)body["meter"]!["status"]);
        Assert.Equal(MeterNo(2), (string?)body["meter"]!["id"]);
        Assert.Matches("^[0-9A-F]{12}$", (string)body["system"]!["id"]!);
    }

    [Fact]
    public async Task System_has_the_device_shape_with_a_stable_id_per_meter()
    {
        var a = JsonNode.Parse(await Host.Client.GetStringAsync($"/api/v1/system?meter={MeterNo(1)}"))!;
        var again = JsonNode.Parse(await Host.Client.GetStringAsync($"/meters/{MeterNo(1)}/api/v1/system"))!;
        var b = JsonNode.Parse(await Host.Client.GetStringAsync($"/api/v1/system?meter={MeterNo(2)}"))!;

        var id = (string)a["device"]!["id"]!;
        Assert.Matches("^[0-9A-F]{12}$", id);
        Assert.Equal($"whatwatt-{id[^6..]}", (string?)a["device"]!["name"]);
        Assert.Equal(id, (string?)again["device"]!["id"]);
        Assert.NotEqual(id, (string?)b["device"]!["id"]);
        Assert.Equal("OK", (string?)a["meter"]!["status"]);
        foreach (var key in new[] { "device", "meter", "wifi", "ethernet", "clouds", "services" })
        {
            Assert.NotNull(a[key]);
        }
    }

    [Fact]
    public async Task The_device_path_serves_one_meters_live_stream()
    {
        var items = await SseClient.ReadAsync(Host.Client, $"/meters/{MeterNo(3)}/api/v1/live", 2, TimeSpan.FromSeconds(10));

        Assert.All(items, i => Assert.Equal("live", i.EventType));
        var hub = Host.Service<Wattstream.Hub.TelemetryHub>();
        var meter = Host.Service<SimulatorService>().Simulator!.Sites[2].Meter;
        using var sub = hub.Subscribe(meter.Subject, new Wattstream.Hub.SubscribeOptions { ResumeAfter = SseClient.Sequence(items[0].EventId!) - 1 });
        Assert.True(sub.TryRead(out var e));
        Assert.Equal(SseClient.Sequence(items[0].EventId!), e.Id);
    }

    [Theory]
    [InlineData("/api/v1/report?meter=nope")]
    [InlineData("/api/v1/system?meter=nope")]
    [InlineData("/meters/nope/api/v1/live")]
    public async Task An_unknown_meter_is_a_404_with_problem_details_and_the_device_error_members(string path)
    {
        using var response = await Host.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("meter_not_found", (string?)body["error"]);
        Assert.Equal((string?)body["detail"], (string?)body["message"]);
        Assert.Equal(404, (int)body["status"]!);
    }
}
