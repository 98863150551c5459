using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Sources.Http;

namespace Wattstream.Emulators.Tests;

public class WhatwattFleetTests
{
    private static async Task<WhatwattFleet> StartAsync(int devices, string? password)
    {
        // A run of free ports: try a few random bases (a port taken by something else fails the start).
        for (var attempt = 0; ; attempt++)
        {
            var fleet = WhatwattFleet.Create(new WhatwattEmulatorOptions { Port = Random.Shared.Next(20_000, 60_000), Password = password, Interval = TimeSpan.FromSeconds(0.2), Seed = 5 }, devices, _ => { });
            try
            {
                await fleet.StartAsync();
                return fleet;
            }
            catch (IOException) when (attempt < 5)
            {
                await fleet.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Each_device_has_its_own_port_id_meter_and_authentication()
    {
        await using var fleet = await StartAsync(3, "secret");

        var ids = new List<string>();
        for (var i = 0; i < fleet.Count; i++)
        {
            using var client = new HttpClient(new DeviceAuthClientHandler("secret") { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = fleet.BaseAddressOf(i) };
            var system = JsonNode.Parse(await client.GetStringAsync("/api/v1/system"))!;
            ids.Add((string)system["device"]!["id"]!);
        }

        using var anonymous = new HttpClient { BaseAddress = fleet.BaseAddressOf(2) };
        using var refused = await anonymous.GetAsync("/api/v1/system");

        Assert.Equal(3, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^[0-9A-F]{12}$", id));
        Assert.Equal(3, Enumerable.Range(0, fleet.Count).Select(fleet.MeterNumberOf).Distinct().Count());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.StartsWith("Digest", refused.Headers.WwwAuthenticate.Single().Scheme, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_takeover_on_one_device_leaves_the_others_streams_alone()
    {
        await using var fleet = await StartAsync(2, password: null);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        using var zero = await http.GetAsync(new Uri(fleet.BaseAddressOf(0), "/api/v1/live"), HttpCompletionOption.ResponseHeadersRead);
        using var one = new StreamReader(await (await http.GetAsync(new Uri(fleet.BaseAddressOf(1), "/api/v1/live"), HttpCompletionOption.ResponseHeadersRead)).Content.ReadAsStreamAsync());
        Assert.Equal("event: live", await one.ReadLineAsync());
        await Eventually.UntilAsync(() => fleet.ConnectedClients == 2, "both devices streaming");

        using var zeroAgain = await http.GetAsync(new Uri(fleet.BaseAddressOf(0), "/api/v1/live"), HttpCompletionOption.ResponseHeadersRead);
        await Eventually.UntilAsync(() => fleet.Takeovers == 1, "device 0's first client taken over");

        // Device 1's client still gets events after device 0's takeover.
        for (var i = 0; i < 6; i++)
        {
            Assert.NotNull(await one.ReadLineAsync());
        }

        Assert.Equal(1, fleet.Takeovers);
        Assert.Equal(2, fleet.ConnectedClients);
    }

    [Fact]
    public void A_fleet_spread_over_the_second_gives_device_i_its_share_of_900_ms()
    {
        Assert.Equal([0, 300, 600], Enumerable.Range(0, 3).Select(i => WhatwattFleet.SpreadOffset(i, 3).TotalMilliseconds));
        Assert.Equal(899, WhatwattFleet.SpreadOffset(999, 1000).TotalMilliseconds);
        Assert.Throws<ArgumentException>(() => WhatwattFleet.Create(new WhatwattEmulatorOptions { Port = 20_000 }, 2, spreadOverSecond: true));
    }

    [Fact]
    public async Task A_device_with_an_offset_reports_that_long_after_each_whole_second()
    {
        // On a clock the test moves: from a whole second, the device waits its 300 ms, reports, and waits for the next
        // whole second plus 300 ms; never early, never twice in a second. (Its first wait is set before TickAsync
        // returns; each later one right after the reading, well inside the pauses here.)
        var second = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var clock = new FakeTimeProvider(second);
        var device = new EmulatedWhatwattDevice(new WhatwattEmulatorOptions { WholeSeconds = true, WholeSecondOffset = TimeSpan.FromMilliseconds(300), Seed = 3 }, clock);
        using var stop = new CancellationTokenSource();
        var ticking = device.TickAsync(stop.Token);

        foreach (var (before, at, readings) in new[] { (250, 300, 1L), (1250, 1300, 2L), (2250, 2300, 3L) })
        {
            clock.SetUtcNow(second.AddMilliseconds(before));
            await Task.Delay(200);
            Assert.Equal(readings - 1, device.Readings); // not yet

            clock.SetUtcNow(second.AddMilliseconds(at));
            await Eventually.UntilAsync(() => device.Readings == readings, $"reading {readings} at {at} ms");
        }

        await stop.CancelAsync();
        await ticking;
    }

    [Fact]
    public void An_offset_past_900_ms_is_refused_by_name()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new EmulatedWhatwattDevice(new WhatwattEmulatorOptions { WholeSeconds = true, WholeSecondOffset = TimeSpan.FromMilliseconds(950) }, TimeProvider.System));
        Assert.Contains("WholeSecondOffset", e.Message, StringComparison.Ordinal);
    }
}
