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
        // The stalled client's queue holds 16 events; once the socket buffers are full it loses the oldest, and after 50
        // lost the slow-client rule cuts it: the proof that it lost them. The healthy client reads on throughout.
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.010", "--Streaming:QueueCapacity=16", "--Streaming:MaxDroppedBeforeClose=50");
        var hub = host.Service<Wattstream.Hub.TelemetryHub>();
        var supervisor = host.Service<StreamSupervisor>();
        var subscribers = hub.Counters.Subscribers; // the hub's own (store, alerts, …)
        using var stalled = new TcpClient { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /stream/sites/site-1 HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\n\r\n"));
        await Eventually.UntilAsync(() => supervisor.Sessions == 1, "the stalled client's stream is open");

        long lostByTheStalledClient = -1;
        var items = await SseClient.ReadAsync(host.Client, "/stream/sites/site-1", int.MaxValue, TimeSpan.FromSeconds(90), until: _ =>
        {
            if (supervisor.Sessions > 1 || hub.Counters.Subscribers > subscribers + 1)
            {
                return false; // the stalled one has not lost its 50 yet, or its subscription has not ended yet
            }

            lostByTheStalledClient = hub.Counters.DroppedByUnsubscribed; // only the stalled client's subscription has ended
            return true;
        });

        Assert.True(lostByTheStalledClient >= 50, $"the stalled client lost {lostByTheStalledClient} events");
        Assert.True(items.Count > 50, $"the healthy client got {items.Count} events meanwhile");
        var ids = items.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
        Assert.Equal(ids.Order().Distinct(), ids);
    }
}
