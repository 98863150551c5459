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
        await Eventually.UntilAsync(() => supervisor.Sessions == 1, "the stalled client is cut off");
        Assert.NotNull(await healthy.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_stalled_sse_client_loses_old_events_without_slowing_others()
    {
        // No cut-off for slow clients here: the stalled one stays connected, losing what its queue of 16 cannot hold.
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.010", "--Streaming:QueueCapacity=16", "--Streaming:MaxDroppedBeforeClose=10000000");
        var hub = host.Service<Wattstream.Hub.TelemetryHub>();
        var subscribers = hub.Counters.Subscribers; // the hub's own (store, alerts, …)
        using var stalled = new TcpClient { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /stream/sites/site-1 HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\n\r\n"));
        await Eventually.UntilAsync(() => hub.Counters.Subscribers == subscribers + 1, "the stalled client's stream is open");

        var items = await SseClient.ReadAsync(host.Client, "/stream/sites/site-1", 1500, TimeSpan.FromSeconds(20));

        Assert.Equal(1500, items.Count);
        var ids = items.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
        Assert.Equal(ids.Order().Distinct(), ids);

        // The stalled client is still connected; when it goes, its subscription reports what it lost: old events, which
        // the bounded queue dropped to make room for new ones.
        await Eventually.UntilAsync(() => hub.Counters.Subscribers == subscribers + 1, "the healthy client's stream has ended");
        var droppedBefore = hub.Counters.DroppedByUnsubscribed;
        stalled.Client.LingerState = new LingerOption(true, 0); // gone at once, as a client that was killed
        stalled.Close();
        await Eventually.UntilAsync(() => hub.Counters.Subscribers == subscribers, "the stalled client's stream has ended");
        Assert.True(hub.Counters.DroppedByUnsubscribed - droppedBefore > 0, $"the stalled client lost {hub.Counters.DroppedByUnsubscribed - droppedBefore} events");
    }
}
