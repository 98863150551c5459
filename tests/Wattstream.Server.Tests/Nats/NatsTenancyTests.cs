using System.Net;
using System.Net.WebSockets;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Wattstream.Server.Tests;

/// <summary>deploy/nats/wattstream.conf as shipped (ports moved to free loopback ones): each org reads its own subjects only.</summary>
public sealed class NatsTenancyTests
{
    private static readonly Dictionary<string, string> Passwords = new()
    {
        ["WATTSTREAM_NATS_PASSWORD"] = "hub-" + Guid.NewGuid().ToString("N"),
        ["ACME_NATS_PASSWORD"] = "acme-" + Guid.NewGuid().ToString("N"),
        ["GLOBEX_NATS_PASSWORD"] = "globex-" + Guid.NewGuid().ToString("N"),
    };

    private static async Task<NatsServer> StartShippedServerAsync()
    {
        var configuration = (await File.ReadAllTextAsync(Path.Combine(RepoFiles.Root, "deploy", "nats", "wattstream.conf")))
            .Replace("127.0.0.1:9222", "127.0.0.1:-1", StringComparison.Ordinal) // a WebSocket port the server picks and reports
            .Replace("store_dir: /var/lib/nats", "", StringComparison.Ordinal); // the test server's own folder (-sd)
        return await NatsServer.StartAsync(configuration: configuration, environment: Passwords);
    }

    private static NatsConnection Connect(NatsServer nats, string user) => new(new NatsOpts
    {
        Url = nats.Url,
        InboxPrefix = user == "wattstream" ? "_INBOX" : $"_INBOX_{user}",
        RequestTimeout = TimeSpan.FromSeconds(2),
        AuthOpts = new NatsAuthOpts { Username = user, Password = Passwords[$"{user.ToUpperInvariant()}_NATS_PASSWORD"] },
    });

    private static NATS.Client.JetStream.Models.ConsumerConfig Replay(string? filter) => new()
    {
        Name = "replay-" + Guid.NewGuid().ToString("N"),
        FilterSubject = filter,
        DeliverPolicy = NATS.Client.JetStream.Models.ConsumerConfigDeliverPolicy.All,
        AckPolicy = NATS.Client.JetStream.Models.ConsumerConfigAckPolicy.None,
        InactiveThreshold = TimeSpan.FromMinutes(1),
    };

    [Fact]
    public async Task An_org_user_replays_its_orgs_readings_from_jetstream_and_no_other_orgs()
    {
        await using var nats = await StartShippedServerAsync();
        await using var host = await WattstreamHost.StartAsync(
            "--Simulation:Enabled=false", $"--Nats:Url={nats.Url}", "--Nats:User=wattstream", $"--Nats:Password={Passwords["WATTSTREAM_NATS_PASSWORD"]}");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var push = await host.Client.PostAsync("/api/readings", new StringContent(
            $$"""
            {"org":"acme","site":"plant","device":"gw","der":"pv-a","type":"pv","timestamp":{{now}},"W":-900}
            {"org":"globex","site":"hq","device":"gw","der":"pv-g","type":"pv","timestamp":{{now}},"W":-700}
            {"org":"acme","site":"plant","device":"gw","der":"pv-a","type":"pv","timestamp":{{now + 1000}},"W":-950}
            """, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        await using var hubSide = Connect(nats, "wattstream");
        await Eventually.UntilAsync(async () => (await new NatsJSContext(hubSide).GetStreamAsync("ENRICHED_TELEMETRY")).Info.State.Messages == 3, "three readings stored");

        // Acme replays its own: a consumer filtered to acme's telemetry subjects is allowed, and gets acme's two readings only. (The
        // filter must be the consumer's one FilterSubject, which clients put into the request's subject for the server
        // to check; NATS.Net does so for a named consumer.)
        await using var acme = Connect(nats, "acme");
        var js = new NatsJSContext(acme);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var replayed = new List<string>();
        try
        {
            var own = await js.CreateOrUpdateConsumerAsync("ENRICHED_TELEMETRY", Replay("orgs.acme.sites.*.devices.*.ders.*.telemetry.json.v1"), cts.Token);
            await foreach (var message in own.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 10 }, cancellationToken: cts.Token))
            {
                replayed.Add(message.Subject);
            }
        }
        catch (Exception e)
        {
            Assert.Fail($"{e.GetType().Name}: {e.Message}\n{nats.Output}");
        }

        Assert.Equal(["orgs.acme.sites.plant.devices.gw.ders.pv-a.telemetry.json.v1", "orgs.acme.sites.plant.devices.gw.ders.pv-a.telemetry.json.v1"], replayed);

        // Globex's subjects, every subject, and the stream's messages by number are all refused.
        await Assert.ThrowsAnyAsync<Exception>(async () => await js.CreateOrUpdateConsumerAsync("ENRICHED_TELEMETRY", Replay("orgs.globex.sites.*.devices.*.ders.*.telemetry.json.v1")));
        await Assert.ThrowsAnyAsync<Exception>(async () => await js.CreateOrUpdateConsumerAsync("ENRICHED_TELEMETRY", Replay(null)));
        await Assert.ThrowsAnyAsync<Exception>(async () => await js.GetStreamAsync("ENRICHED_TELEMETRY"));
        await Assert.ThrowsAnyAsync<Exception>(async () => await acme.RequestAsync<string, byte[]>("$JS.API.STREAM.MSG.GET.ENRICHED_TELEMETRY", """{"seq":2}"""));
    }

    [Fact]
    public async Task An_org_user_receives_its_orgs_readings_and_cannot_read_another_orgs_or_publish()
    {
        var passwords = Passwords;
        await using var nats = await StartShippedServerAsync();
        var websocketPort = nats.WebSocketPort ?? throw new InvalidOperationException($"nats-server named no WebSocket port: {nats.Output}");
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
