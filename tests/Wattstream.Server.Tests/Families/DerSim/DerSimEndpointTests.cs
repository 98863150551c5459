using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

public class DerSimEndpointTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private WattstreamHost Host => shared.Host;

    private static void AssertSnapshot(JsonNode s)
    {
        foreach (var key in new[] { "metrics", "pq", "status", "clock_time", "dc_mode", "dc_port_count", "device_type", "asset_type", "device_index" })
        {
            Assert.True(s.AsObject().ContainsKey(key), $"missing {key} in {s.ToJsonString()}");
        }

        Assert.NotNull(s["metrics"]!["power_kw"]);
        Assert.NotNull(s["metrics"]!["timestamp"]);
        Assert.Matches(@"^\d\d:\d\d:\d\d$", (string)s["clock_time"]!);
        Assert.Contains((string)s["asset_type"]!, new[] { "pv", "battery", "evse" });
        Assert.NotNull(s["status"]!["connection_state"]);
    }

    [Fact]
    public async Task Overview_is_the_snapshot_of_device_0_by_default()
    {
        var overview = JsonNode.Parse(await Host.Client.GetStringAsync("/api/dersim/overview"))!;
        var device2 = JsonNode.Parse(await Host.Client.GetStringAsync("/api/dersim/overview?device=2"))!;

        AssertSnapshot(overview);
        Assert.Equal(0, (int)overview["device_index"]!);
        Assert.Equal(2, (int)device2["device_index"]!);
    }

    [Fact]
    public async Task Devices_lists_every_pv_battery_and_charger()
    {
        var devices = JsonNode.Parse(await Host.Client.GetStringAsync("/api/dersim/devices"))!.AsArray();

        Assert.Equal(7, devices.Count); // 3 PV, 3 batteries, 1 EV charger
        Assert.Equal(Enumerable.Range(0, 7), devices.Select(d => (int)d!["device_index"]!));
        Assert.All(devices, d => AssertSnapshot(d!));
        Assert.Equal(3, devices.Count(d => (string?)d!["asset_type"] == "battery"));
        Assert.Single(devices, d => (string?)d!["asset_type"] == "evse");
    }

    [Theory]
    [InlineData("/api/dersim/overview?device=abc", HttpStatusCode.BadRequest)]
    [InlineData("/api/dersim/overview?device=-1", HttpStatusCode.BadRequest)]
    [InlineData("/api/dersim/overview?device=99", HttpStatusCode.NotFound)]
    [InlineData("/api/dersim/ws/telemetry", HttpStatusCode.BadRequest)]
    [InlineData("/api/dersim/telemetry/ws", HttpStatusCode.BadRequest)]
    [InlineData("/ws", HttpStatusCode.BadRequest)]
    public async Task Bad_requests_are_problems(string path, HttpStatusCode expected)
    {
        using var response = await Host.Client.GetAsync(path);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("/api/dersim/ws/telemetry")]
    [InlineData("/api/dersim/telemetry/ws")]
    public async Task The_websocket_sends_the_cached_snapshots_at_once_then_one_per_device_per_tick(string path)
    {
        await using var client = await WebSocketClient.ConnectAsync(Host, path);

        // At once: every device's latest snapshot.
        var initial = new List<JsonNode>();
        for (var i = 0; i < 7; i++)
        {
            initial.Add(await client.ReceiveJsonAsync(TimeSpan.FromSeconds(2)));
        }

        Assert.Equal(Enumerable.Range(0, 7), initial.Select(s => (int)s["device_index"]!).Order());
        Assert.All(initial, AssertSnapshot);

        // Then ticks: every device again, with newer timestamps.
        var next = new List<JsonNode>();
        for (var i = 0; i < 14; i++)
        {
            next.Add(await client.ReceiveJsonAsync());
        }

        Assert.Equal(Enumerable.Range(0, 7), next.Select(s => (int)s["device_index"]!).Distinct().Order());
    }

    [Fact]
    public async Task The_device_filter_is_applied_server_side()
    {
        await using var client = await WebSocketClient.ConnectAsync(Host, "/api/dersim/ws/telemetry?device=2");

        for (var i = 0; i < 4; i++)
        {
            var snapshot = await client.ReceiveJsonAsync();
            Assert.Equal(2, (int)snapshot["device_index"]!);
            Assert.IsType<double>((double)snapshot["metrics"]!["power_kw"]!); // the seed's client prints metrics.power_kw
        }
    }

    [Fact]
    public async Task An_unknown_device_is_refused_before_the_upgrade()
    {
        var socket = new ClientWebSocket();
        var uri = new UriBuilder(new Uri(Host.BaseAddress, "/api/dersim/ws/telemetry?device=42")) { Scheme = "ws" }.Uri;

        var e = await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None));

        Assert.Contains("404", e.Message, StringComparison.Ordinal);
    }
}
