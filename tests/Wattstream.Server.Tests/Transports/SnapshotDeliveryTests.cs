using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Streaming.Sessions;
using Wattstream.Testing;

namespace Wattstream.Server.Tests;

/// <summary>
/// A hub of 20 000 meters and 20 000 PV DERs (org <c>big</c>) beside the simulator, which runs fast so live events
/// keep coming while a snapshot is written. Queues are small and the drop limit low: judged by the slow-consumer rule,
/// a snapshot of this size could never be delivered.
/// </summary>
public sealed class BigHubFixture : IAsyncLifetime
{
    public const int Count = 20_000;

    public WattstreamHost Host { get; private set; } = null!;

    public static string Meter(int i) => $"m{i:00000}";

    public static string Pv(int i) => $"p{i:00000}";

    public async Task InitializeAsync()
    {
        Host = await WattstreamHost.StartAsync(
            "--Hub:MaxDersPerOrg=70000",
            "--Status:StaleAfter=01:00:00", // no sweep turns the pushed DERs stale mid-test (40 000 changes at once)
            "--Simulation:Interval=00:00:00.010",
            "--Streaming:QueueCapacity=64",
            "--Streaming:MaxDroppedBeforeClose=1000",
            "--Streaming:HeartbeatInterval=00:00:02");
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1_000;
        const int Batch = 5_000;
        for (var start = 0; start < Count; start += Batch)
        {
            var body = new StringBuilder();
            for (var i = start; i < start + Batch; i++)
            {
                body.Append(Reading(Meter(i), "meter", t, 100 + i)).Append('\n');
                body.Append(Reading(Pv(i), "pv", t, -1000 - i)).Append('\n');
            }

            await PushAsync(body.ToString());
        }

        var board = Host.Service<StatusBoard>();
        await Eventually.UntilAsync(() => board.Snapshot().Count(s => s.Der.Org == "big") == 2 * Count, "every pushed DER on the status board", TimeSpan.FromSeconds(60));
    }

    public static string Reading(string der, string type, long timestamp, int watts) =>
        $$"""{"org":"big","site":"s{{der[^2..]}}","device":"d-{{der}}","der":"{{der}}","type":"{{type}}","timestamp":{{timestamp}},"W":{{watts}}}""";

    public async Task PushAsync(string ndjson)
    {
        using var response = await Host.Client.PostAsync("/api/readings", new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>
/// The state a stream sends at connect is delivered whole, whatever its size, on every transport, and is not judged by
/// the slow-consumer rule; a client that does not read is still cut.
/// </summary>
public sealed class SnapshotDeliveryTests(BigHubFixture fixture) : IClassFixture<BigHubFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private static int _newMeters;

    private WattstreamHost Host => fixture.Host;

    private static HashSet<string> AllMeters() => [.. Enumerable.Range(0, BigHubFixture.Count).Select(BigHubFixture.Meter)];

    [Fact]
    public async Task The_hes_status_stream_sends_every_meters_status_then_a_live_change()
    {
        using var cts = new CancellationTokenSource(Deadline);
        using var response = await Host.Client.GetAsync("/hes/service/meter-status/stream", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        var missing = AllMeters();
        var live = $"live-{Guid.NewGuid():N}"[..20];
        var pushed = false;
        var sawLive = false;
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cts.Token))
        {
            Assert.Equal("meter-status", item.EventType);
            var meterNo = (string)JsonNode.Parse(item.Data)!["meterNo"]!;
            missing.Remove(meterNo);
            if (meterNo == live)
            {
                sawLive = true;
                break;
            }

            if (missing.Count == 0 && !pushed)
            {
                // Every meter's status is in: now a change (a new meter comes up) must follow on the same stream.
                pushed = true;
                await fixture.PushAsync(BigHubFixture.Reading(live, "meter", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 1));
            }
        }

        Assert.Empty(missing);
        Assert.True(sawLive, "the live status change after the snapshot");
    }

    [Fact]
    public async Task A_ws_status_subscription_gets_every_meters_status_then_a_live_change()
    {
        await using var client = await WebSocketClient.ConnectAsync(Host, "/ws");
        Assert.Equal("hello", (string?)(await client.ReceiveJsonAsync())["type"]);
        await client.SendAsync("""{"type":"subscribe","id":"st","subject":"orgs.big.>","kind":"status"}""");
        Assert.Equal("subscribed", (string?)(await client.ReceiveJsonAsync())["type"]);

        var missing = AllMeters();
        var live = $"live-{Guid.NewGuid():N}"[..20];
        var pushed = false;
        var deadline = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < deadline)
        {
            var text = await client.ReceiveTextAsync(TimeSpan.FromSeconds(20));
            Assert.True(text is not null, $"closed: {client.Socket.CloseStatus} {client.Socket.CloseStatusDescription}");
            var message = JsonNode.Parse(text)!;
            Assert.Equal("status", (string?)message["type"]);
            var der = (string)message["der"]!;
            if (der == live)
            {
                Assert.Empty(missing);
                return;
            }

            if ((string?)message["derType"] == "meter")
            {
                missing.Remove(der);
            }

            if (missing.Count == 0 && !pushed)
            {
                pushed = true;
                await fixture.PushAsync(BigHubFixture.Reading(live, "meter", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 1));
            }
        }

        Assert.Fail($"no live change within the deadline ({missing.Count} meters' statuses missing)");
    }

    [Fact]
    public async Task The_dersim_socket_sends_every_devices_last_values_while_live_events_keep_coming_then_live_ones()
    {
        // The simulator's 7 devices come first, then the 20 000 PV DERs; its fast ticks keep the live queue overflowing
        // while the snapshot is written, which the slow-consumer rule must not count against the client.
        var devices = Host.Service<Families.DerSim.DerSimDevices>().Everything;
        var expected = devices.Devices.Count;
        Assert.True(expected >= BigHubFixture.Count);
        var liveIndex = devices.IndexOf(new Telemetry.DerAddress("big", "s00", "d-p00000", "p00000"));
        Assert.True(liveIndex >= 0);

        await using var client = await WebSocketClient.ConnectAsync(Host, "/api/dersim/ws/telemetry");
        var seen = new HashSet<int>();
        var liveAt = DateTimeOffset.UtcNow.AddSeconds(5).ToUnixTimeMilliseconds(); // newer than anything the simulator sends to this DER
        var pushed = false;
        var deadline = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < deadline)
        {
            var text = await client.ReceiveTextAsync(TimeSpan.FromSeconds(20));
            Assert.True(text is not null, $"closed: {client.Socket.CloseStatus} {client.Socket.CloseStatusDescription} after {seen.Count} devices");
            var message = JsonNode.Parse(text)!;
            var index = (int)message["device_index"]!;
            if (pushed && index == liveIndex && DateTimeOffset.Parse((string)message["metrics"]!["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds() == liveAt)
            {
                Assert.Equal(expected, seen.Count);
                return;
            }

            seen.Add(index);
            if (seen.Count < expected && seen.Count % 250 == 0)
            {
                await Task.Delay(50); // a steady reader slower than the hub's live rate: the snapshot takes seconds
            }

            if (seen.Count == expected && !pushed)
            {
                pushed = true;
                await fixture.PushAsync(BigHubFixture.Reading("p00000", "pv", liveAt, -4242));
            }
        }

        Assert.Fail($"no live reading within the deadline ({seen.Count} of {expected} devices seen)");
    }

    [Theory]
    [InlineData("/hes/service/meter-status/stream", false)]
    [InlineData("/api/dersim/ws/telemetry", true)]
    public async Task A_client_that_connects_and_never_reads_is_still_cut(string path, bool webSocket)
    {
        var supervisor = Host.Service<StreamSupervisor>();
        await Eventually.UntilAsync(() => supervisor.Sessions == 0, "the other tests' streams to end");
        using var stalled = new TcpClient { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(Host.BaseAddress.Host, Host.BaseAddress.Port);
        var upgrade = webSocket
            ? $"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {Convert.ToBase64String(Guid.NewGuid().ToByteArray())}\r\nSec-WebSocket-Version: 13\r\n"
            : "";
        await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {Host.BaseAddress.Authority}\r\n{upgrade}\r\n"));

        await Eventually.UntilAsync(() => supervisor.Sessions == 1, "the stream to open");

        // The snapshot may fit in the connection's buffers; then it is written, and the slow-consumer rule judges the
        // client by what it loses of the live changes (new meters coming up) it does not read.
        for (var round = 0; round < 20 && supervisor.Sessions > 0; round++)
        {
            var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await fixture.PushAsync(string.Concat(Enumerable.Range(0, 500).Select(i => BigHubFixture.Reading($"x{Interlocked.Increment(ref _newMeters):000000}", "meter", t, i) + "\n")));
            await Eventually.TryUntilAsync(() => supervisor.Sessions == 0, TimeSpan.FromSeconds(2));
        }

        Assert.Equal(0, supervisor.Sessions);
    }
}
