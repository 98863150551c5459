using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Wattstream.Server.Tests;

/// <summary>The hub with a real nats-server: Novacore's subjects, the JetStream stream, NATS as a source.</summary>
public sealed class NatsTests : IAsyncLifetime
{
    private NatsServer _nats = null!;

    public async Task InitializeAsync() => _nats = await NatsServer.StartAsync();

    public async Task DisposeAsync() => await _nats.DisposeAsync();

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static string Reading(string org, string site, string der, long timestamp, int watts = -1500) =>
        $$"""{"org":"{{org}}","site":"{{site}}","device":"gw","der":"{{der}}","type":"pv","timestamp":{{timestamp}},"W":{{watts}}}""";

    private static async Task PushAsync(WattstreamHost host, params string[] readings)
    {
        using var response = await host.Client.PostAsync("/api/readings", new StringContent(string.Join('\n', readings), Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_pushed_reading_reaches_a_nats_subscriber_on_its_novacore_subject_with_a_message_id()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={_nats.Url}");
        await using var client = new NatsConnection(new NatsOpts { Url = _nats.Url });
        var received = new TaskCompletionSource<NatsMsg<byte[]>>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var subscribed = new TaskCompletionSource();
        var listen = Task.Run(async () =>
        {
            var subscription = await client.SubscribeCoreAsync<byte[]>("orgs.acme.>", cancellationToken: cts.Token);
            subscribed.SetResult();
            await foreach (var message in subscription.Msgs.ReadAllAsync(cts.Token))
            {
                if (message.Subject.EndsWith(".telemetry.json.v1", StringComparison.Ordinal))
                {
                    received.TrySetResult(message);
                    return;
                }
            }
        });
        await subscribed.Task;
        var timestamp = Now;

        await PushAsync(host, Reading("acme", "plant", "pv-a", timestamp));
        var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal("orgs.acme.sites.plant.devices.gw.ders.pv-a.telemetry.json.v1", message.Subject);
        Assert.Equal($"acme.plant.gw.pv-a:{timestamp}", message.Headers!["Nats-Msg-Id"].ToString());
        var json = JsonNode.Parse(message.Data)!;
        Assert.Equal("pv", (string?)json["type"]);
        Assert.Equal(timestamp, (long)json["timestamp"]!);
        Assert.Equal(-1500, (double)json["W"]!);
        await cts.CancelAsync();
        await listen.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    [Fact]
    public async Task The_jetstream_stream_keeps_seven_days_stores_a_duplicate_once_and_replays_to_a_late_consumer()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={_nats.Url}");
        var t = Now;
        await PushAsync(host, Reading("acme", "plant", "pv-a", t), Reading("acme", "plant", "pv-a", t + 1000), Reading("acme", "plant", "pv-b", t),
            Reading("globex", "plant", "pv-a", t)); // another org's pv-a of the same millisecond is another reading
        await using var client = new NatsConnection(new NatsOpts { Url = _nats.Url });
        var js = new NatsJSContext(client);
        await Eventually.UntilAsync(async () => (await js.GetStreamAsync("ENRICHED_TELEMETRY")).Info.State.Messages == 4, "four readings stored");

        // The same reading again, as a second node or a retry would publish it: stored once.
        var headers = new NatsHeaders { ["Nats-Msg-Id"] = $"acme.plant.gw.pv-a:{t}" };
        await client.PublishAsync("orgs.acme.sites.plant.devices.gw.ders.pv-a.telemetry.json.v1", Encoding.UTF8.GetBytes("{}"), headers);
        var ack = await js.PublishAsync("orgs.acme.sites.plant.devices.gw.ders.pv-a.telemetry.json.v1", Encoding.UTF8.GetBytes("{}"), headers: headers);

        var stream = await js.GetStreamAsync("ENRICHED_TELEMETRY");
        Assert.True(ack.Duplicate);
        Assert.Equal(4, (long)stream.Info.State.Messages);
        Assert.Equal(TimeSpan.FromDays(7), stream.Info.Config.MaxAge);
        Assert.True(stream.Info.Config.DuplicateWindow >= TimeSpan.FromMinutes(2));
        Assert.Equal(StreamConfigStorage.File, stream.Info.Config.Storage);

        // A consumer that was away reads everything the stream holds, in order.
        var consumer = await js.CreateOrderedConsumerAsync("ENRICHED_TELEMETRY", new NatsJSOrderedConsumerOpts());
        var replayed = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var message in consumer.ConsumeAsync<byte[]>(cancellationToken: cts.Token))
        {
            // (filtered here: Debian's nats-server 2.9 predates consumers with several filter subjects)
            if (!message.Subject.StartsWith("orgs.acme.", StringComparison.Ordinal))
            {
                continue;
            }

            replayed.Add($"{message.Subject.Split('.')[7]}@{JsonNode.Parse(message.Data)!["timestamp"]}");
            if (replayed.Count == 3)
            {
                break;
            }
        }

        Assert.Equal([$"pv-a@{t}", $"pv-a@{t + 1000}", $"pv-b@{t}"], replayed);
    }

    [Fact]
    public async Task Status_changes_are_published_on_the_status_subject()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={_nats.Url}");
        await using var client = new NatsConnection(new NatsOpts { Url = _nats.Url });
        var subscription = await client.SubscribeCoreAsync<byte[]>("orgs.acme.sites.plant.devices.gw.ders.pv-s.status.json.v1");

        await PushAsync(host, Reading("acme", "plant", "pv-s", Now));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var message = await subscription.Msgs.ReadAsync(cts.Token);

        var json = JsonNode.Parse(message.Data)!;
        Assert.Equal("pv-s", (string?)json["der"]);
        Assert.Equal("pv", (string?)json["type"]);
        Assert.Equal("CONNECTED", (string?)json["status"]);
        await subscription.DisposeAsync();
    }

    [Fact]
    public async Task Alerts_are_published_once_each_on_their_sites_alert_subject()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={_nats.Url}",
            "--Alerts:Rules:0:Id=hot", "--Alerts:Rules:0:Type=threshold", "--Alerts:Rules:0:Org=acme", "--Alerts:Rules:0:Field=W",
            "--Alerts:Rules:0:Operator=<", "--Alerts:Rules:0:Threshold=-1000");
        await using var client = new NatsConnection(new NatsOpts { Url = _nats.Url });
        var subscription = await client.SubscribeCoreAsync<byte[]>("orgs.*.sites.*.alerts.json.v1");
        await client.PingAsync(); // the subscription is at the server before anything is published

        var t = Now;
        await PushAsync(host, Reading("acme", "plant", "pv-x", t - 3000, watts: -1500), Reading("acme", "plant", "pv-x", t - 2000, watts: -200), Reading("globex", "plant", "pv-x", t - 1000));
        var messages = new List<NatsMsg<byte[]>>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await foreach (var message in subscription.Msgs.ReadAllAsync(cts.Token))
        {
            messages.Add(message);
            if (messages.Count == 2)
            {
                break;
            }
        }

        Assert.All(messages, m => Assert.Equal("orgs.acme.sites.plant.alerts.json.v1", m.Subject));
        Assert.Equal(["firing", "resolved"], messages.Select(m => (string)JsonNode.Parse(m.Data)!["state"]!));
        Assert.Equal(-1500, (double)JsonNode.Parse(messages[0].Data)!["value"]!);
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await subscription.Msgs.ReadAsync(quiet.Token)); // once each: nothing more
        Assert.Equal(2, (long)JsonNode.Parse(await host.Client.GetStringAsync("/api/nats"))!["alertsPublished"]!);
        await subscription.DisposeAsync();
    }

    [Fact]
    public async Task Site_summaries_are_published_on_their_sites_summary_subject()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={_nats.Url}", "--Energy:SummaryInterval=00:00:00.100");
        await using var client = new NatsConnection(new NatsOpts { Url = _nats.Url });
        var subscription = await client.SubscribeCoreAsync<byte[]>("orgs.*.sites.*.summary.json.v1");
        await client.PingAsync();

        await PushAsync(host, Reading("acme", "plant", "pv-s", Now, watts: -2500));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var message = await subscription.Msgs.ReadAsync(cts.Token);

        Assert.Equal("orgs.acme.sites.plant.summary.json.v1", message.Subject);
        Assert.Equal(2500, (double)JsonNode.Parse(message.Data)!["pvW"]!);
        await subscription.DisposeAsync();
    }

    [Fact]
    public async Task Nats_subjects_feed_the_hub_as_a_source_and_a_malformed_message_is_counted_and_skipped()
    {
        await using var host = await WattstreamHost.StartAsync(
            "--Simulation:Enabled=false",
            "--Sources:0:Id=gateways", "--Sources:0:Kind=nats", $"--Sources:0:Url={_nats.Url}",
            "--Sources:0:Subject=gateways.*.devices.*.ders.*.telemetry.json.v1", "--Sources:0:Gateways:GW-7=acme/roof",
            "--Sources:1:Id=novacore", "--Sources:1:Kind=nats", $"--Sources:1:Url={_nats.Url}");
        await using var publisher = new NatsConnection(new NatsOpts { Url = _nats.Url });
        await Eventually.UntilAsync(async () => (await host.Client.GetStringAsync("/api/sources")).Split("CONNECTED").Length == 3, "both sources connected");
        var t = Now;

        await publisher.PublishAsync("gateways.GW-7.devices.inv-1.ders.pv.telemetry.json.v1", Encoding.UTF8.GetBytes($$"""{"type":"pv","timestamp":{{t}},"W":-2100}"""));
        await publisher.PublishAsync("gateways.GW-7.devices.inv-1.ders.pv.telemetry.json.v1", Encoding.UTF8.GetBytes("{not json"));
        await publisher.PublishAsync("gateways.UNKNOWN.devices.inv-1.ders.pv.telemetry.json.v1", Encoding.UTF8.GetBytes($$"""{"type":"pv","timestamp":{{t}},"W":1}"""));
        await publisher.PublishAsync("orgs.globex.sites.hq.devices.m.ders.meter-9.telemetry.json.v1", Encoding.UTF8.GetBytes($$"""{"type":"meter","timestamp":{{t}},"W":420}"""));
        await publisher.PublishAsync("gateways.GW-7.devices.inv-1.ders.pv.telemetry.json.v1", Encoding.UTF8.GetBytes($$"""{"type":"pv","timestamp":{{t + 1000}},"W":-2200}"""));

        await Eventually.UntilAsync(async () => (await host.Client.GetStringAsync("/api/sites")).Contains("meter-9", StringComparison.Ordinal), "the orgs subject's reading arrived");
        await Eventually.UntilAsync(async () =>
        {
            var from = DateTimeOffset.FromUnixTimeMilliseconds(t - 60_000).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
            var history = await host.Client.GetStringAsync($"/api/history?der=pv&from={from}&step=1s&fields=w&agg=last");
            return history.Contains("-2200", StringComparison.Ordinal);
        }, "the gateway's readings are stored under acme/roof");
        var sites = JsonNode.Parse(await host.Client.GetStringAsync("/api/sites"))!.AsArray();
        var sources = JsonNode.Parse(await host.Client.GetStringAsync("/api/sources"))!.AsArray();

        Assert.Contains(sites, s => (string?)s!["org"] == "acme" && (string?)s["site"] == "roof");
        Assert.Contains(sites, s => (string?)s!["org"] == "globex" && (string?)s["site"] == "hq");
        var gateways = sources.Single(s => (string?)s!["id"] == "gateways")!;
        Assert.Equal(2, (long)gateways["rejected"]!); // the malformed message and the unknown gateway; the stream went on
        Assert.Equal(4, (long)gateways["events"]!);
        Assert.Equal("CONNECTED", (string?)gateways["status"]);
    }

    [Fact]
    public async Task A_hub_that_publishes_and_reads_the_same_subjects_does_not_read_itself()
    {
        await using var host = await WattstreamHost.StartAsync(
            "--Simulation:Enabled=false", $"--Nats:Url={_nats.Url}",
            "--Sources:0:Id=loop", "--Sources:0:Kind=nats", $"--Sources:0:Url={_nats.Url}");
        await Eventually.UntilAsync(async () => (await host.Client.GetStringAsync("/api/sources")).Contains("CONNECTED", StringComparison.Ordinal), "the source connected");

        await PushAsync(host, Reading("acme", "plant", "pv-l", Now));
        await Eventually.UntilAsync(async () => (long)JsonNode.Parse(await AdminGetAsync(host, "/api/nats"))!["published"]! >= 1, "published");
        var metrics = await host.Client.GetStringAsync("/metrics");
        Assert.Contains("wattstream_nats_connected 1", metrics, StringComparison.Ordinal);
        Assert.Contains("wattstream_nats_published_total ", metrics, StringComparison.Ordinal);
        await Task.Delay(500); // what would come back, would have come back by now

        var source = JsonNode.Parse(await host.Client.GetStringAsync("/api/sources"))!.AsArray().Single()!;
        Assert.Equal(0, (long)source["events"]!);
        Assert.Equal(0, (long)source["rejected"]!);
    }

    [Fact]
    public async Task Without_jetstream_the_hub_refuses_to_start_with_a_message_saying_so()
    {
        await using var plain = await NatsServer.StartAsync(jetStream: false);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={plain.Url}");
        });

        Assert.Contains("JetStream", e.Message, StringComparison.Ordinal);
        Assert.Contains("-js", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task While_nats_is_away_the_hub_serves_on_and_publishes_what_it_held_once_nats_is_back()
    {
        _nats.Stop();
        await using var host = await WattstreamHost.StartAsync($"--Nats:Url={_nats.Url}", "--Nats:ConnectTimeout=00:00:00.500"); // the simulator feeds it too
        var t = Now;
        await PushAsync(host, Reading("acme", "plant", "pv-w", t), Reading("acme", "plant", "pv-w", t + 1000));

        using var ready = await host.Client.GetAsync("/readyz");
        var readiness = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
        var live = await SseClient.ReadAsync(host.Client, "/stream/sites/plant", 2, TimeSpan.FromSeconds(10), lastEventId: "0-0");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode); // NATS away is shown, not a reason to stop serving
        Assert.Equal("degraded", (string?)readiness["checks"]!["nats"]!["status"]);
        Assert.Equal(2, live.Count);

        await _nats.RestartAsync();
        await using var client = new NatsConnection(new NatsOpts { Url = _nats.Url });
        var js = new NatsJSContext(client);
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                return (await js.GetStreamAsync("ENRICHED_TELEMETRY")).Info.State.Messages >= 2;
            }
            catch (NatsJSApiException)
            {
                return false; // not created yet
            }
        }, "the stream exists and holds readings", TimeSpan.FromSeconds(30));
        var consumer = await js.CreateOrderedConsumerAsync("ENRICHED_TELEMETRY", new NatsJSOrderedConsumerOpts());
        var held = new List<long>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var message in consumer.ConsumeAsync<byte[]>(cancellationToken: cts.Token))
        {
            if (!message.Subject.StartsWith("orgs.acme.", StringComparison.Ordinal))
            {
                continue; // the simulator's readings
            }

            held.Add((long)JsonNode.Parse(message.Data)!["timestamp"]!);
            if (held.Count == 2)
            {
                break;
            }
        }

        Assert.Equal([t, t + 1000], held); // published while NATS was away, in order
    }

    [Fact]
    public async Task The_hub_authenticates_to_nats_with_an_nkey_seed_file_and_a_wrong_seed_is_refused()
    {
        var user = NATS.NKeys.KeyPair.CreatePair(NATS.NKeys.PrefixByte.User);
        var stranger = NATS.NKeys.KeyPair.CreatePair(NATS.NKeys.PrefixByte.User);
        await using var secured = await NatsServer.StartAsync(configuration: $$"""
            authorization {
              users = [ { nkey: "{{user.GetPublicKey()}}" } ]
            }
            """);
        var seedFile = Path.Combine(secured.Folder, "hub.nk");
        var strangerFile = Path.Combine(secured.Folder, "stranger.nk");
        await File.WriteAllTextAsync(seedFile, user.GetSeed());
        await File.WriteAllTextAsync(strangerFile, stranger.GetSeed());

        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={secured.Url}", $"--Nats:NKeySeedFile={seedFile}");
        await PushAsync(host, Reading("acme", "plant", "pv-n", Now));
        await Eventually.UntilAsync(async () => (long)JsonNode.Parse(await AdminGetAsync(host, "/api/nats"))!["published"]! >= 1, "published with the NKey");

        await using var refused = await WattstreamHost.StartAsync(
            "--Simulation:Enabled=false", "--Sources:0:Id=n", "--Sources:0:Kind=nats", $"--Sources:0:Url={secured.Url}", $"--Sources:0:NKeySeedFile={strangerFile}");
        await Eventually.UntilAsync(async () => (await refused.Client.GetStringAsync("/api/sources")).Contains("AUTH_FAILED", StringComparison.Ordinal), "the stranger's seed is refused");
        Assert.DoesNotContain(user.GetSeed(), await host.Client.GetStringAsync("/api/nats"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_hub_authenticates_to_nats_with_a_creds_file_and_a_user_the_account_did_not_sign_is_refused()
    {
        using var nats = new NatsOperator();
        await using var secured = await NatsServer.StartAsync(configuration: nats.ServerConfiguration());
        var credsFile = Path.Combine(secured.Folder, "hub.creds");
        var strangerFile = Path.Combine(secured.Folder, "stranger.creds");
        var creds = nats.UserCreds("wattstream");
        await File.WriteAllTextAsync(credsFile, creds);
        using var otherAccount = NATS.NKeys.KeyPair.CreatePair(NATS.NKeys.PrefixByte.Account);
        await File.WriteAllTextAsync(strangerFile, nats.UserCreds("stranger", otherAccount));

        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={secured.Url}", $"--Nats:CredsFile={credsFile}");
        await PushAsync(host, Reading("acme", "plant", "pv-c", Now));
        await Eventually.UntilAsync(async () => (long)JsonNode.Parse(await AdminGetAsync(host, "/api/nats"))!["published"]! >= 1, "published with the creds file");
        await using var reader = new NatsConnection(new NatsOpts { Url = secured.Url, AuthOpts = new NatsAuthOpts { CredsFile = credsFile } });
        var js = new NatsJSContext(reader);
        await Eventually.UntilAsync(async () => (await js.GetStreamAsync("ENRICHED_TELEMETRY")).Info.State.Messages == 1, "the reading is in the account's stream");

        await using var refused = await WattstreamHost.StartAsync(
            "--Simulation:Enabled=false", "--Sources:0:Id=c", "--Sources:0:Kind=nats", $"--Sources:0:Url={secured.Url}", $"--Sources:0:CredsFile={strangerFile}");
        await Eventually.UntilAsync(async () => (await refused.Client.GetStringAsync("/api/sources")).Contains("AUTH_FAILED", StringComparison.Ordinal), "the stranger's creds are refused");
        var seed = creds.Split('\n').Single(l => l.StartsWith("SU", StringComparison.Ordinal));
        Assert.DoesNotContain(seed, await host.Client.GetStringAsync("/api/nats"), StringComparison.Ordinal);
    }

    private static Task<string> AdminGetAsync(WattstreamHost host, string path) => host.Client.GetStringAsync(path);
}
