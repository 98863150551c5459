using System.Net.Sockets;
using System.Text;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Server.Tests;

public class SlowClientTests
{
    /// <summary>A WebSocket client that upgrades and then never reads: its receive window stays tiny and fills up.</summary>
    private static async Task<TcpClient> ConnectStalledAsync(WattstreamHost host, string path)
    {
        var tcp = new TcpClient { ReceiveBufferSize = 4096 };
        await tcp.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        var request = $"GET {path} HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(request));
        return tcp;
    }

    [Fact]
    public async Task A_stalled_websocket_client_is_disconnected_and_does_not_slow_a_healthy_one()
    {
        await using var host = await WattstreamHost.StartAsync(
            "--Simulation:Interval=00:00:00.010",
            "--Streaming:QueueCapacity=16",
            "--Streaming:MaxDroppedBeforeClose=200");
        var supervisor = host.Service<StreamSupervisor>();
        using var stalled = await ConnectStalledAsync(host, "/api/dersim/ws/telemetry");
        await using var healthy = await WebSocketClient.ConnectAsync(host, "/api/dersim/ws/telemetry");

        // The healthy client keeps receiving at full rate while the stalled one backs up…
        var received = 0;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (received < 2000 && DateTime.UtcNow < deadline)
        {
            Assert.NotNull(await healthy.ReceiveTextAsync());
            received++;
        }

        Assert.Equal(2000, received);

        // …and the stalled one is cut off once it has lost more than the backlog limit.
        while (supervisor.Sessions > 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(1, supervisor.Sessions);
        Assert.NotNull(await healthy.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_stalled_sse_client_loses_old_events_without_slowing_others()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.010", "--Streaming:QueueCapacity=16");
        using var stalled = new TcpClient { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /stream/sites/site-1 HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\n\r\n"));

        var items = await SseClient.ReadAsync(host.Client, "/stream/sites/site-1", 1500, TimeSpan.FromSeconds(20));

        Assert.Equal(1500, items.Count);
        var ids = items.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
        Assert.Equal(ids.Order().Distinct(), ids);
    }
}
