using System.Collections.Concurrent;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using Wattstream.Emulators.Whatwatt;

namespace Wattstream.Server.Tests;

/// <summary>
/// Issue 27: a source that retries keeps the status its failure left (DISCONNECTED) until a connection succeeds, so a
/// stopped device is one status event, not DISCONNECTED and CONNECTING alternating once per retry; <c>/api/sources</c>
/// shows the retries and when the next attempt starts.
/// </summary>
public class SourceStatusFlickerTests
{
    private const string Meter = "99900033344";

    private static async Task<WhatwattEmulator> EmulatorAsync(int port)
    {
        var emulator = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = port, Password = "flicker-pw", Interval = TimeSpan.FromMilliseconds(500), Seed = 5 }, _ => { });
        await emulator.StartAsync();
        return emulator;
    }

    [Fact]
    public async Task A_source_retrying_a_stopped_device_is_disconnected_once_and_connected_once_when_it_returns()
    {
        // The emulator binds a port of its own and stops: the source meets a closed port until it starts there again.
        var first = await EmulatorAsync(0);
        var port = first.BaseAddress.Port;
        await first.DisposeAsync();
        await using var host = await WattstreamHost.StartAsync(
            "--Sources:0:Id=home",
            "--Sources:0:Kind=Whatwatt",
            $"--Sources:0:Url=http://127.0.0.1:{port}/",
            "--Sources:0:Password=flicker-pw",
            "--Sources:0:Org=acme",
            "--Sources:0:Site=home",
            $"--Sources:0:Der={Meter}",
            "--SourceTiming:BackoffBase=00:00:00.050",
            "--SourceTiming:BackoffCap=00:00:00.200");

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var hes = new ConcurrentQueue<string>();
        var ws = new ConcurrentQueue<string>();
        var hesOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hesReader = ReadHesStatusesAsync(host, hes, hesOpen, stop.Token);
        await using var socket = await WebSocketClient.ConnectAsync(host, "/ws");
        await socket.SendAsync("""{"type":"subscribe","id":"st","kind":"status","subject":"orgs.acme.>"}""");
        var wsReader = ReadWsStatusesAsync(socket, ws, stop.Token);
        await hesOpen.Task.WaitAsync(TimeSpan.FromSeconds(15));

        // Many retries (some 10 s of them at this backoff, 100 ms on average): every one refused, each once a flicker of
        // two events.
        var source = await WaitForSourceAsync(host, s => (int)s["retries"]! >= 80 && s["nextAttempt"] is not null, TimeSpan.FromSeconds(90));
        Assert.Equal("DISCONNECTED", (string?)source["status"]);
        var next = DateTimeOffset.Parse((string)source["nextAttempt"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(next > DateTimeOffset.UtcNow.AddSeconds(-30) && next < DateTimeOffset.UtcNow.AddSeconds(30), $"next attempt {next:O}");
        Assert.True((long)source["reconnects"]! >= 80);

        await WaitAsync(() => ws.Contains("DISCONNECTED"), "the /ws status subscription saw the source down");
        string[] down = [.. hes];
        string[] downWs = [.. ws];
        AssertOneDisconnectedWithoutFlicker(down, "HES meter-status stream");
        AssertOneDisconnectedWithoutFlicker(downWs, "/ws status subscription");

        // The device returns: one CONNECTED, and the retries start over.
        await using var emulator = await RestartAsync(port);
        await WaitAsync(() => hes.Contains("CONNECTED") && ws.Contains("CONNECTED"), "both streams saw the source connect");
        source = await WaitForSourceAsync(host, s => (string?)s["status"] == "CONNECTED" && (long)s["events"]! >= 2, TimeSpan.FromSeconds(30));
        Assert.Equal(0, (int)source["retries"]!);
        Assert.Null(source["nextAttempt"]);
        Assert.Equal([.. down, "CONNECTED"], [.. hes]); // nothing more than the one transition, readings or not
        Assert.Equal([.. downWs, "CONNECTED"], [.. ws]);

        await stop.CancelAsync();
        await Task.WhenAll(hesReader, wsReader);
    }

    // What a client saw while the device was away: the present at connect (CONNECTING, when the first attempt had not
    // failed yet), then DISCONNECTED exactly once and nothing after it.
    private static void AssertOneDisconnectedWithoutFlicker(string[] sequence, string what)
    {
        var shown = $"{what}: {string.Join(", ", sequence)}";
        Assert.Equal(1, sequence.Count(s => s == "DISCONNECTED"));
        Assert.Equal("DISCONNECTED", sequence[^1]);
        Assert.True(sequence.Length <= 2, shown);
        Assert.All(sequence[..^1], s => Assert.Equal("CONNECTING", s));
    }

    private static async Task ReadHesStatusesAsync(WattstreamHost host, ConcurrentQueue<string> statuses, TaskCompletionSource open, CancellationToken stop)
    {
        try
        {
            using var response = await host.Client.GetAsync("/hes/service/meter-status/stream", HttpCompletionOption.ResponseHeadersRead, stop);
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync(stop);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(stop))
            {
                if (item.EventType == "meter-status")
                {
                    var status = JsonNode.Parse(item.Data)!;
                    Assert.Equal(Meter, (string?)status["meterNo"]);
                    statuses.Enqueue((string)status["status"]!);
                    open.TrySetResult();
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task ReadWsStatusesAsync(WebSocketClient socket, ConcurrentQueue<string> statuses, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            JsonNode message;
            try
            {
                message = await socket.ReceiveJsonAsync(TimeSpan.FromSeconds(120)).WaitAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            if ((string?)message["type"] == "status")
            {
                statuses.Enqueue((string)message["status"]!);
            }
        }
    }

    private static async Task<JsonNode> WaitForSourceAsync(WattstreamHost host, Func<JsonNode, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode? source = null;
        while (DateTime.UtcNow < deadline)
        {
            source = JsonNode.Parse(await host.Client.GetStringAsync("/api/sources"))!.AsArray().Single()!;
            if (condition(source))
            {
                return source;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"/api/sources never matched: {source?.ToJsonString()}");
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }

    // The port was the emulator's a moment ago; should another process have taken it meanwhile, try again briefly.
    private static async Task<WhatwattEmulator> RestartAsync(int port)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await EmulatorAsync(port);
            }
            catch (IOException) when (attempt < 20) // Kestrel's "address already in use"
            {
                await Task.Delay(250);
            }
        }
    }
}
