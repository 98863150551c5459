using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using Wattstream.Hub;

namespace Wattstream.Server.Tests;

/// <summary>
/// Novacore readings carry <c>der_id</c>, <c>device_id</c> and <c>site_id</c> on every transport, so a client can key
/// them by (der_id, timestamp) as the seed says, and the seed's own clients still work.
/// </summary>
public sealed class NovacoreIdTests : IAsyncLifetime
{
    private NatsServer _nats = null!;

    public async Task InitializeAsync() => _nats = await NatsServer.StartAsync();

    public async Task DisposeAsync() => await _nats.DisposeAsync();

    private static string Battery(string device, string der, long timestamp, int watts) =>
        $$"""{"org":"acme","site":"plant","device":"{{device}}","der":"{{der}}","type":"battery","timestamp":{{timestamp}},"W":{{watts}},"SoC_nom_fract":0.5}""";

    private static async Task PushAsync(WattstreamHost host, params string[] readings)
    {
        using var response = await host.Client.PostAsync("/api/readings", new StringContent(string.Join('\n', readings), Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static void AssertTwoBatteries(IEnumerable<JsonNode> readings, long timestamp)
    {
        var batteries = readings.Where(r => (string?)r["type"] == "battery" && (long)r["timestamp"]! == timestamp).ToArray();
        Assert.Equal(["bat-1", "bat-2"], batteries.Select(r => (string)r["der_id"]!).Order());
        Assert.All(batteries, r => Assert.Equal("plant", (string?)r["site_id"]));
        Assert.Equal(["inv-1", "inv-2"], batteries.Select(r => (string)r["device_id"]!).Order());
        Assert.Equal(300, (double)batteries.Single(r => (string?)r["der_id"] == "bat-1")["W"]!);
        Assert.Equal(-700, (double)batteries.Single(r => (string?)r["der_id"] == "bat-2")["W"]!);
    }

    [Fact]
    public async Task Two_batteries_of_one_site_in_the_same_millisecond_are_told_apart_by_der_id_on_sse_ws_and_nats()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={_nats.Url}");
        await using var nats = new NatsConnection(new NatsOpts { Url = _nats.Url });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var fromNats = new System.Collections.Concurrent.ConcurrentQueue<JsonNode>();
        var subscribed = new TaskCompletionSource();
        var listen = Task.Run(async () =>
        {
            var subscription = await nats.SubscribeCoreAsync<byte[]>("orgs.acme.sites.plant.devices.*.ders.*.telemetry.json.v1", cancellationToken: cts.Token);
            subscribed.SetResult();
            await foreach (var message in subscription.Msgs.ReadAllAsync(cts.Token))
            {
                fromNats.Enqueue(JsonNode.Parse(message.Data)!);
                if (fromNats.Count == 3)
                {
                    return;
                }
            }
        });
        await subscribed.Task.WaitAsync(cts.Token);
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // The site is known from a first reading; then every transport listens before the two batteries report.
        await PushAsync(host, Battery("inv-1", "bat-1", timestamp - 1000, 1));
        var batteries = 0;
        var hub = host.Service<TelemetryHub>();
        var subscribers = hub.Counters.Subscribers;
        var sse = SseClient.ReadAsync(host.Client, "/stream/sites/plant", 10, TimeSpan.FromSeconds(15),
            until: i => JsonNode.Parse(i.Data)?["timestamp"]?.GetValue<long>() == timestamp && ++batteries == 2);
        await using var ws = await WebSocketClient.ConnectAsync(host, "/ws");
        // The SSE request runs on its own: wait until the hub holds its subscription, or the batteries may pass it by.
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the SSE stream is subscribed");
        await ws.SendAsync("""{"type":"subscribe","id":"s","subject":"orgs.acme.sites.plant.>"}""");
        await ws.ReceiveUntilAsync(m => (string?)m["type"] == "subscribed");
        await Eventually.UntilAsync(() => fromNats.Count == 1, "the first reading reached NATS"); // NATS is listening too

        await PushAsync(host, Battery("inv-1", "bat-1", timestamp, 300), Battery("inv-2", "bat-2", timestamp, -700));

        // SSE: Novacore's per-site stream.
        AssertTwoBatteries((await sse).Select(i => JsonNode.Parse(i.Data)!), timestamp);

        // /ws: the reading envelope's data is the same Novacore reading.
        var fromWs = new List<JsonNode>();
        while (fromWs.Count(r => (long)r["timestamp"]! == timestamp) < 2)
        {
            var message = await ws.ReceiveUntilAsync(m => (string?)m["type"] == "reading");
            fromWs.Add(message["data"]!);
        }

        AssertTwoBatteries(fromWs, timestamp);

        // NATS: Novacore's subjects, the same bytes.
        await listen.WaitAsync(cts.Token);
        AssertTwoBatteries(fromNats, timestamp);
    }

    [Fact]
    public async Task The_seeds_javascript_client_logs_every_reading_as_before()
    {
        await using var host = await WattstreamHost.StartAsync();

        var (exit, output) = await BrowserTests.RunNodeAsync("novacore-client.mjs", host.BaseAddress.ToString().TrimEnd('/'), "site-1", "8");

        Assert.True(exit == 0, output);
        var result = JsonNode.Parse(output.Split('\n').First(l => l.StartsWith('{')))!;
        Assert.Empty(result["pageErrors"]!.AsArray());
        var data = result["data"]!.AsArray().Select(d => JsonNode.Parse((string)d!)!).ToArray();
        Assert.True(data.Length >= 8);
        Assert.All(data, d => Assert.False(string.IsNullOrEmpty((string?)d["der_id"]))); // the new members are there…
        var lines = result["lines"]!.AsArray().Select(l => (string)l!).ToArray();
        Assert.NotEmpty(lines);
        // …and the seed's client prints what it always printed: numbers, never undefined or NaN, and no reconnects.
        Assert.All(lines, l => Assert.Matches(@"^(Solar: -?[\d.]+W|Grid: -?[\d.]+W|Battery: -?[\d.]+W \(SoC: [\d.]+%\))$", l));
        Assert.Equal(["Battery", "Grid", "Solar"], lines.Select(l => l.Split(':')[0]).Distinct().Order());
    }

    [Fact]
    public async Task The_seeds_python_client_prints_every_reading_as_before()
    {
        await using var host = await WattstreamHost.StartAsync();
        var script = Path.Combine(RepoFiles.Root, "tests", "seed-clients", "python", "novacore_client.py");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-u", script, host.BaseAddress.ToString().TrimEnd('/'), "site-1" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (lines.Count < 8 && await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            {
                lines.Add(line);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        Assert.True(lines.Count == 8, $"{lines.Count} lines: {string.Join(" | ", lines)}\n{await stderr}");
        Assert.All(lines, l => Assert.Matches(@"^\[(pv|battery|meter|v2x_charger)\] Power: -?[\d.]+W$", l));
        Assert.Contains(lines, l => l.StartsWith("[meter]", StringComparison.Ordinal));
    }
}
