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
    private Process? _nginx;

    public int Port { get; private set; }

    public HttpClient Client { get; private set; } = null!;

    public static async Task<NginxProxy> StartAsync(int hubPort)
    {
        var proxy = new NginxProxy();
        try
        {
            // nginx cannot pick its own port: a free one is taken, and should another process bind it first, the next.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await proxy.StartProcessAsync(hubPort, LoopbackPort.Free());
                    return proxy;
                }
                catch (PortTakenException) when (attempt < 5)
                {
                }
            }
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    private sealed class PortTakenException(string message) : Exception(message);

    private async Task StartProcessAsync(int hubPort, int port)
    {
        Port = port;
        Client?.Dispose();
        Directory.CreateDirectory(_directory);
        var site = await File.ReadAllTextAsync(Path.Combine(RepoFiles.Root, "deploy", "nginx", "wattstream.conf"));
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
        var errors = _nginx.StandardError.ReadToEndAsync();
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(30) };

        // Up when this nginx answers (its Server header: another process could hold the port), or down when it exits.
        await Eventually.UntilAsync(async () =>
        {
            if (_nginx.HasExited)
            {
                return true;
            }

            try
            {
                using var health = await Client.GetAsync("/healthz");
                return health.IsSuccessStatusCode && health.Headers.Server.ToString().StartsWith("nginx", StringComparison.Ordinal);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "nginx up", TimeSpan.FromSeconds(20));
        if (_nginx.HasExited)
        {
            var said = await errors + (File.Exists(Path.Combine(_directory, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(_directory, "error.log")) : "");
            _nginx.Dispose();
            _nginx = null;
            throw LoopbackPort.IsAddressInUse(said) ? new PortTakenException(said) : new InvalidOperationException($"nginx exited: {said}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (_nginx is { HasExited: false })
        {
            _nginx.Kill(entireProcessTree: true);
            await _nginx.WaitForExitAsync();
        }

        _nginx?.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
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
        // A site of its own, where readings are published only by this test, one at a time: each must come through
        // before the next is published. A buffering proxy holds a small event until its buffer fills, and never would.
        var hub = _hub.Service<Wattstream.Hub.TelemetryHub>();
        var der = new Wattstream.Telemetry.DerAddress("demo", "proxied", "gw", "m-proxied");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        void Publish(int i) => hub.Publish(new Wattstream.Telemetry.Reading(der, Wattstream.Telemetry.DerType.Meter, timestamp + i, null, [new Wattstream.Telemetry.Measurement(Wattstream.Telemetry.Quantity.ActivePower, i, Wattstream.Telemetry.Unit.Watt)]));
        Publish(0); // the site exists from its first reading on
        var subscribers = hub.Counters.Subscribers;
        using var response = await ProxyClient.GetAsync("/stream/sites/proxied", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        await using var events = System.Net.ServerSentEvents.SseParser.Create(stream).EnumerateAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the stream is subscribed at the hub");
        var received = new List<long>();
        for (var i = 1; i <= 4; i++)
        {
            Publish(i);
            long seen;
            do
            {
                Assert.True(await events.MoveNextAsync(), "the stream ended");
                seen = (long)JsonNode.Parse(events.Current.Data)!["timestamp"]!;
            }
            while (seen == timestamp); // the reading published before the stream opened, if the stream starts with it

            received.Add(seen);
        }

        Assert.Equal(Enumerable.Range(1, 4).Select(i => timestamp + i), received);
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
