using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Wattstream.Server.Tests;

/// <summary>
/// deploy/nginx/wattstream.conf, as shipped, in front of a hub: Debian's nginx (scripts/test.sh installs it) in a
/// process of the test's own, on loopback ports, stopped by its pid.
/// </summary>
internal sealed class NginxProxy : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wattstream-nginx-{Guid.NewGuid():N}");
    private Process _nginx = null!;

    public int Port { get; private set; }

    public HttpClient Client { get; private set; } = null!;

    public static async Task<NginxProxy> StartAsync(int hubPort)
    {
        var proxy = new NginxProxy();
        await proxy.StartProcessAsync(hubPort);
        return proxy;
    }

    private async Task StartProcessAsync(int hubPort)
    {
        Port = LoopbackPort.Free();
        Directory.CreateDirectory(_directory);
        var site = await File.ReadAllTextAsync(Path.Combine(BrowserTests.RepoRoot(), "deploy", "nginx", "wattstream.conf"));
        site = Regex.Replace(site, @"server 127\.0\.0\.1:8111;", $"server 127.0.0.1:{hubPort};");
        site = Regex.Replace(site, @"listen 127\.0\.0\.1:8080;", $"listen 127.0.0.1:{Port};");
        Assert.Contains($"listen 127.0.0.1:{Port};", site, StringComparison.Ordinal);
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
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(30) };
        await Eventually.UntilAsync(async () => { try { return (await Client.GetAsync("/healthz")).IsSuccessStatusCode; } catch (HttpRequestException) { return false; } }, "nginx up", TimeSpan.FromSeconds(20));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_nginx.HasExited)
        {
            _nginx.Kill(entireProcessTree: true);
            await _nginx.WaitForExitAsync();
        }

        _nginx.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class NginxProxyTests : IAsyncLifetime
{
    private WattstreamHost _hub = null!;
    private NginxProxy _proxy = null!;

    private HttpClient ProxyClient => _proxy.Client;

    private int ProxyPort => _proxy.Port;

    public async Task InitializeAsync()
    {
        _hub = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.250");
        _proxy = await NginxProxy.StartAsync(_hub.BaseAddress.Port);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _hub.DisposeAsync();
    }

    [Fact]
    public async Task Sse_events_pass_the_proxy_as_they_are_published_not_buffered()
    {
        // A reading every 250 ms per DER; a buffering proxy would hold these small events until its buffer fills.
        var watch = Stopwatch.StartNew();
        var items = await SseClient.ReadAsync(ProxyClient, "/api/v1/live", 4, TimeSpan.FromSeconds(3));

        Assert.Equal(4, items.Count);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2.5), $"4 events took {watch.Elapsed}");
        Assert.All(items, i => Assert.Equal("live", i.EventType));
    }

    [Fact]
    public async Task Resume_with_last_event_id_works_through_the_proxy()
    {
        var first = (await SseClient.ReadAsync(ProxyClient, "/stream/sites/site-1", 1, TimeSpan.FromSeconds(10))).Single();

        var resumed = await SseClient.ReadAsync(ProxyClient, "/stream/sites/site-1", 3, TimeSpan.FromSeconds(10), lastEventId: first.EventId);

        var ids = resumed.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
        Assert.True(ids[0] > SseClient.Sequence(first.EventId!));
        Assert.Equal(ids.Order(), ids);
    }

    [Fact]
    public async Task A_websocket_works_through_the_proxy()
    {
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{ProxyPort}/ws"), CancellationToken.None);
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

/// <summary>X-Forwarded-For is believed only from a proxy the operator named (Proxy:TrustedProxies).</summary>
public sealed class TrustedProxyTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Through_the_proxy_the_hub_tells_clients_apart_only_when_it_trusts_the_proxy(bool trusted)
    {
        string[] settings = trusted ? ["--Limits:MaxStreamsPerIp=1", "--Proxy:TrustedProxies:0=127.0.0.1/32"] : ["--Limits:MaxStreamsPerIp=1"];
        await using var hub = await WattstreamHost.StartAsync(settings);
        await using var proxy = await NginxProxy.StartAsync(hub.BaseAddress.Port);
        var address = new Uri($"http://127.0.0.1:{proxy.Port}");
        using var first = LimitsTests.Client(address, token: null);
        using var second = LimitsTests.Client(address, token: null, from: "127.0.0.2");
        second.DefaultRequestHeaders.Add("X-Forwarded-For", "127.0.0.1"); // a forged address: nginx appends the real one

        using var one = await first.GetAsync("/api/sse/meters", HttpCompletionOption.ResponseHeadersRead);
        using var other = await second.GetAsync("/api/sse/meters", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        // Trusted: the second client is 127.0.0.2 (nginx's own entry, not the forged one), under its own limit.
        // Not trusted: both are the proxy's address, which already holds its one stream.
        Assert.Equal(trusted ? HttpStatusCode.OK : HttpStatusCode.TooManyRequests, other.StatusCode);
    }

    [Fact]
    public async Task A_malformed_trusted_proxy_setting_stops_the_start_with_its_name()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var hub = await WattstreamHost.StartAsync("--Proxy:TrustedProxies:0=not-an-address");
        });

        Assert.Contains("Proxy:TrustedProxies", e.Message, StringComparison.Ordinal);
    }
}
