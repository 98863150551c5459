using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Wattstream.Emulators.DerSim;

namespace Wattstream.Emulators.Tests;

public class DerSimEmulatorTests
{
    private static async Task<JsonNode> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[256 * 1024];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var length = 0;
        WebSocketReceiveResult r;
        do
        {
            r = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), cts.Token);
            length += r.Count;
        }
        while (!r.EndOfMessage);

        return JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, length))!;
    }

    [Fact]
    public async Task The_websocket_sends_the_cached_payload_at_once_then_one_per_device_per_tick_and_filters_by_device()
    {
        await using var emulator = DerSimEmulator.Create(new DerSimEmulatorOptions { Port = 0, Devices = 3, Tick = TimeSpan.FromMilliseconds(200), Seed = 1 }, _ => { });
        await emulator.StartAsync();
        var ws = new UriBuilder(emulator.BaseAddress) { Scheme = "ws", Path = "/api/dersim/ws/telemetry" }.Uri;

        using var all = new ClientWebSocket();
        await all.ConnectAsync(ws, CancellationToken.None);
        var first = new List<JsonNode>();
        for (var i = 0; i < 6; i++)
        {
            first.Add(await ReceiveAsync(all));
        }

        using var filtered = new ClientWebSocket();
        await filtered.ConnectAsync(new Uri(ws + "?device=2"), CancellationToken.None);
        var only2 = new List<JsonNode>();
        for (var i = 0; i < 3; i++)
        {
            only2.Add(await ReceiveAsync(filtered));
        }

        Assert.Equal([0, 1, 2], first.Take(3).Select(p => (int)p["device_index"]!));
        Assert.Equal([0, 1, 2], first.Skip(3).Select(p => (int)p["device_index"]!));
        Assert.All(first, p => Assert.NotNull(p["metrics"]!["power_kw"]));
        Assert.All(only2, p => Assert.Equal(2, (int)p["device_index"]!));
    }

    [Fact]
    public async Task Overview_answers_the_latest_snapshot()
    {
        await using var emulator = DerSimEmulator.Create(new DerSimEmulatorOptions { Port = 0, Devices = 2, Seed = 1 }, _ => { });
        await emulator.StartAsync();
        using var client = new HttpClient { BaseAddress = emulator.BaseAddress };

        var overview = JsonNode.Parse(await client.GetStringAsync("/api/dersim/overview?device=1"))!;

        Assert.Equal(1, (int)overview["device_index"]!);
        Assert.NotNull(overview["clock_time"]);
    }
}
