using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Wattstream.Server.Tests;

/// <summary>
/// deploy/nginx/wattstream.conf, as shipped, in front of the hub: Debian's nginx (scripts/test.sh installs it) in a
/// process of the test's own, on loopback ports, stopped by its pid.
/// </summary>
public sealed class NginxProxyTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wattstream-nginx-{Guid.NewGuid():N}");
    private WattstreamHost _hub = null!;
    private Process _nginx = null!;
    private HttpClient _client = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _hub = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.250");
        _port = LoopbackPort.Free();
        Directory.CreateDirectory(_directory);
        var site = await File.ReadAllTextAsync(Path.Combine(BrowserTests.RepoRoot(), "deploy", "nginx", "wattstream.conf"));
        site = Regex.Replace(site, @"server 127\.0\.0\.1:8111;", $"server 127.0.0.1:{_hub.BaseAddress.Port};");
        site = Regex.Replace(site, @"listen 127\.0\.0\.1:8080;", $"listen 127.0.0.1:{_port};");
        Assert.Contains($"listen 127.0.0.1:{_port};", site, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(_directory, "wattstream.conf"), site);
        await File.WriteAllTextAsync(Path.Combine(_directory, "nginx.conf"), $$"""
            daemon off;
            master_process off;
            pid {{_directory}}/nginx.pid;
            error_log {{_directory}}/error.log warn;
            events { worker_connections 256; }
            http {
              access_log off;
              client_body_temp_path {{_directory}}/body;
              proxy_temp_path {{_directory}}/proxy;
              fastcgi_temp_path {{_directory}}/fastcgi;
              uwsgi_temp_path {{_directory}}/uwsgi;
              scgi_temp_path {{_directory}}/scgi;
              include {{_directory}}/wattstream.conf;
            }
            """);
        var start = new ProcessStartInfo("/usr/sbin/nginx") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-p", _directory, "-c", Path.Combine(_directory, "nginx.conf") })
        {
            start.ArgumentList.Add(a);
        }

        _nginx = Process.Start(start)!;
        _client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}"), Timeout = TimeSpan.FromSeconds(30) };
        await Eventually.UntilAsync(async () => { try { return (await _client.GetAsync("/healthz")).IsSuccessStatusCode; } catch (HttpRequestException) { return false; } }, "nginx up", TimeSpan.FromSeconds(20));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        if (!_nginx.HasExited)
        {
            _nginx.Kill(entireProcessTree: true);
            await _nginx.WaitForExitAsync();
        }

        _nginx.Dispose();
        await _hub.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Sse_events_pass_the_proxy_as_they_are_published_not_buffered()
    {
        // A reading every 250 ms per DER; a buffering proxy would hold these small events until its buffer fills.
        var watch = Stopwatch.StartNew();
        var items = await SseClient.ReadAsync(_client, "/api/v1/live", 4, TimeSpan.FromSeconds(3));

        Assert.Equal(4, items.Count);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2.5), $"4 events took {watch.Elapsed}");
        Assert.All(items, i => Assert.Equal("live", i.EventType));
    }

    [Fact]
    public async Task Resume_with_last_event_id_works_through_the_proxy()
    {
        var first = (await SseClient.ReadAsync(_client, "/stream/sites/site-1", 1, TimeSpan.FromSeconds(10))).Single();

        var resumed = await SseClient.ReadAsync(_client, "/stream/sites/site-1", 3, TimeSpan.FromSeconds(10), lastEventId: first.EventId);

        var ids = resumed.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
        Assert.True(ids[0] > SseClient.Sequence(first.EventId!));
        Assert.Equal(ids.Order(), ids);
    }

    [Fact]
    public async Task A_websocket_works_through_the_proxy()
    {
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{_port}/ws"), CancellationToken.None);
        var buffer = new byte[64 * 1024];

        var hello = await socket.ReceiveAsync(buffer, CancellationToken.None);
        Assert.Equal("hello", (string?)JsonNode.Parse(buffer.AsSpan(0, hello.Count))!["type"]);
        await socket.SendAsync("""{"type":"subscribe","id":"s","subject":"orgs.demo.>"}"""u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        var types = new List<string?>();
        for (var i = 0; i < 3; i++)
        {
            var r = await socket.ReceiveAsync(buffer, CancellationToken.None);
            types.Add((string?)JsonNode.Parse(buffer.AsSpan(0, r.Count))!["type"]);
        }

        Assert.Equal(["subscribed", "reading", "reading"], types);
    }
}
