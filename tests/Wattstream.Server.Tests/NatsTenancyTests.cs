using System.Net;
using System.Net.WebSockets;
using System.Text;
using NATS.Client.Core;

namespace Wattstream.Server.Tests;

/// <summary>deploy/nats/wattstream.conf as shipped (ports moved to free loopback ones): each org reads its own subjects only.</summary>
public sealed class NatsTenancyTests
{
    [Fact]
    public async Task An_org_user_receives_its_orgs_readings_and_cannot_read_another_orgs_or_publish()
    {
        var websocketPort = LoopbackPort.Free();
        var configuration = (await File.ReadAllTextAsync(Path.Combine(BrowserTests.RepoRoot(), "deploy", "nats", "wattstream.conf")))
            .Replace("127.0.0.1:9222", $"127.0.0.1:{websocketPort}", StringComparison.Ordinal)
            .Replace("store_dir: /var/lib/nats", "", StringComparison.Ordinal); // the test server's own folder (-sd)
        var passwords = new Dictionary<string, string>
        {
            ["WATTSTREAM_NATS_PASSWORD"] = "hub-" + Guid.NewGuid().ToString("N"),
            ["ACME_NATS_PASSWORD"] = "acme-" + Guid.NewGuid().ToString("N"),
            ["GLOBEX_NATS_PASSWORD"] = "globex-" + Guid.NewGuid().ToString("N"),
        };
        await using var nats = await NatsServer.StartAsync(configuration: configuration, environment: passwords);
        await using var host = await WattstreamHost.StartAsync(
            "--Simulation:Enabled=false", $"--Nats:Url={nats.Url}", "--Nats:User=wattstream", $"--Nats:Password={passwords["WATTSTREAM_NATS_PASSWORD"]}");
        await using var acme = new NatsConnection(new NatsOpts { Url = nats.Url, AuthOpts = new NatsAuthOpts { Username = "acme", Password = passwords["ACME_NATS_PASSWORD"] } });
        await using var hubSide = new NatsConnection(new NatsOpts { Url = nats.Url, AuthOpts = new NatsAuthOpts { Username = "wattstream", Password = passwords["WATTSTREAM_NATS_PASSWORD"] } });

        var own = await acme.SubscribeCoreAsync<byte[]>("orgs.acme.>");
        var other = await acme.SubscribeCoreAsync<byte[]>("orgs.globex.>");
        var everything = await acme.SubscribeCoreAsync<byte[]>(">");
        var forged = await hubSide.SubscribeCoreAsync<byte[]>("orgs.globex.>");
        await acme.PingAsync();
        await acme.PublishAsync("orgs.globex.sites.hq.devices.m.ders.m1.telemetry.json.v1", Encoding.UTF8.GetBytes("""{"type":"meter","timestamp":1,"W":1}"""));

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var push = await host.Client.PostAsync("/api/readings", new StringContent(
            $$"""
            {"org":"acme","site":"plant","device":"gw","der":"pv-a","type":"pv","timestamp":{{now}},"W":-900}
            {"org":"globex","site":"hq","device":"gw","der":"pv-g","type":"pv","timestamp":{{now}},"W":-700}
            """, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, push.StatusCode);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var ownMessage = await own.Msgs.ReadAsync(cts.Token);
        Assert.StartsWith("orgs.acme.sites.plant.", ownMessage.Subject, StringComparison.Ordinal);

        // The hub's own user sees globex's reading (so it was published); acme's subscriptions to it get nothing, and
        // acme's own publish into globex's subjects never arrived.
        var globexSeenByHub = await forged.Msgs.ReadAsync(cts.Token);
        await Task.Delay(1000);
        var seenByHub = new List<string> { globexSeenByHub.Subject };
        while (forged.Msgs.TryRead(out var more))
        {
            seenByHub.Add(more.Subject);
        }

        Assert.Contains("orgs.globex.sites.hq.devices.gw.ders.pv-g.telemetry.json.v1", seenByHub);
        Assert.DoesNotContain(seenByHub, s => s.Contains(".devices.m.ders.m1.", StringComparison.Ordinal));
        Assert.False(other.Msgs.TryRead(out _));
        Assert.False(everything.Msgs.TryRead(out _));

        // Browsers reach NATS over WebSocket: the listener answers the upgrade.
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{websocketPort}"), cts.Token);
        Assert.Equal(WebSocketState.Open, socket.State);
    }
}
