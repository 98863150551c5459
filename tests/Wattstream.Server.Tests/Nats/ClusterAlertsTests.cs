using System.Collections.Concurrent;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Wattstream.Alerts;
using Wattstream.Nats.Cluster;
using Wattstream.Server.Alerts;

namespace Wattstream.Server.Tests;

/// <summary>
/// Alerts in a cluster of three hub nodes with the same rules and webhook on a real nats-server: a site's alerts are
/// evaluated by the owner of its job alone, every alert is in the <c>ALERTS</c> stream and its sequence is its id on
/// every node (SSE, the REST list, the webhook's <c>Wattstream-Alert-Id</c>), a client resumes on another node, and a
/// site taken over after its owner stops neither fires again nor misses the resolution. Webhook deliveries continuing
/// with a site's next owner are <see cref="ClusterWebhookTests"/>'.
/// </summary>
public sealed class ClusterAlertsTests : IAsyncLifetime
{
    internal const string Secret = "whsec-cluster-0123456789";
    internal const string SiteJob = "site:acme/home";
    private NatsServer _nats = null!;
    private WebhookReceiver _receiver = null!;
    private ClusterNodes _nodes = null!;

    private IReadOnlyList<WebhookCall> Received => _receiver.Calls;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _receiver = await WebhookReceiver.StartAsync();
        _nodes = new ClusterNodes(_nats.Url, AlertSettings(_receiver.Url));
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _receiver.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private Task<WattstreamHost> StartNodeAsync(string name, params string[] more) => _nodes.StartAsync(name, more);

    /// <summary>What every node of these tests has besides the cluster's settings: the same rule (low voltage below 220 V at <c>acme</c>) and webhook (<c>ops</c>).</summary>
    internal static string[] AlertSettings(string hookUrl) =>
    [
        "--Nats:LeaseTtl=00:00:02",
        "--Alerts:Rules:0:Id=lv", "--Alerts:Rules:0:Type=low_voltage", "--Alerts:Rules:0:Org=acme", "--Alerts:Rules:0:Threshold=220", "--Alerts:Rules:0:Hysteresis=3",
        $"--Alerts:Webhooks:0:Url={hookUrl}", $"--Alerts:Webhooks:0:Secret={Secret}", "--Alerts:Webhooks:0:Name=ops",
    ];

    /// <summary>A whole node's settings: the cluster's and <see cref="AlertSettings"/>.</summary>
    internal static string[] Settings(string natsUrl, string hookUrl, string name) => [.. ClusterNodes.ClusterSettings(natsUrl, name), .. AlertSettings(hookUrl)];

    private static Task<WattstreamHost[]> StartNodesAsync(ClusterAlertsTests test) => test._nodes.StartAllAsync("node-a", "node-b", "node-c");

    internal static string MeterReading(long timestamp, double l1Volts) =>
        $$"""{"org":"acme","site":"home","device":"gw","der":"m1","type":"meter","timestamp":{{timestamp}},"W":800,"L1_V":{{l1Volts}},"L2_V":230.1,"L3_V":229.8}""";

    internal static async Task PushAsync(WattstreamHost node, params string[] readings)
    {
        using var response = await node.Client.PostAsync("/api/readings", new StringContent(string.Join('\n', readings), Encoding.UTF8, "application/x-ndjson"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
    }

    /// <summary>A first reading makes every node register the site's job; returns the one node that owns it and judges it.</summary>
    internal static async Task<WattstreamHost> OwnerAsync(WattstreamHost[] nodes, long timestamp)
    {
        await PushAsync(nodes[0], MeterReading(timestamp, 230));
        WattstreamHost? owner = null;
        await Eventually.UntilAsync(
            () =>
            {
                var judging = nodes.Where(n => n.Service<AlertService>().Judges("acme", "home")).ToArray();
                owner = judging.Length == 1 ? judging[0] : null;
                return owner is not null;
            },
            "one node judges the site");
        Assert.All(nodes.Where(n => n != owner), n => Assert.DoesNotContain(SiteJob, n.Service<ClusterNode>().Owned));
        Assert.Contains(SiteJob, owner!.Service<ClusterNode>().Owned);
        return owner;
    }

    internal static async Task<JsonArray> ListAsync(WattstreamHost node) =>
        JsonNode.Parse(await node.Client.GetStringAsync("/api/alerts"))!["alerts"]!.AsArray();

    private async Task WaitForWebhooksAsync(int count) =>
        await Eventually.UntilAsync(() => Received.Count >= count, $"{count} webhook calls");

    [Fact]
    public async Task Each_transition_reaches_the_webhook_once_and_every_nodes_sse_client_under_one_id_and_resumes_on_another_node()
    {
        var nodes = await StartNodesAsync(this);
        try
        {
            var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
            await OwnerAsync(nodes, t);
            var streams = await Task.WhenAll(nodes.Select(n => AlertTests.OpenAlertStreamAsync(n.Client, 2)));
            var firstOnly = await AlertTests.OpenAlertStreamAsync(nodes[1].Client, 1);

            // A dip below 220 V (firing), flapping within the hysteresis, then back (resolved), pushed to node C.
            await PushAsync(nodes[2], [.. new[] { 219.0, 221, 218, 229 }.Select((v, i) => MeterReading(t + ((i + 1) * 1000), v))]);

            var seen = await Task.WhenAll(streams.Select(s => s.WaitAsync(TimeSpan.FromSeconds(20))));
            var first = seen[0];
            Assert.Equal(["firing", "resolved"], first.Select(e => (string?)JsonNode.Parse(e.Data)!["state"]));
            Assert.All(seen, items =>
            {
                Assert.Equal(first.Select(e => e.EventId), items.Select(e => e.EventId)); // one id on every node
                Assert.Equal(first.Select(e => e.Data), items.Select(e => e.Data));
            });
            Assert.All(first, e => Assert.Equal(e.EventId, JsonNode.Parse(e.Data)!["id"]!.ToString()));

            await WaitForWebhooksAsync(2);
            await Task.Delay(TimeSpan.FromSeconds(1)); // time for a second node's call, were there one
            Assert.Equal(first.Select(e => (e.EventId, (string?)JsonNode.Parse(e.Data)!["state"])), Received.Select(r => (r.AlertId, (string?)r.State)));

            // The list says the same on every node, newest first; the ids are the ALERTS stream's sequences.
            foreach (var node in nodes)
            {
                Assert.Equal(first.Select(e => e.EventId).Reverse(), (await ListAsync(node)).Select(a => a!["id"]!.ToString()));
            }

            await using var client = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = _nats.Url });
            var stream = await new NATS.Client.JetStream.NatsJSContext(client).GetStreamAsync(ClusterAlertStream.StreamName);
            Assert.Equal(2L, stream.Info.State.Messages);
            var stored = await stream.GetAsync(new NATS.Client.JetStream.Models.StreamMsgGetRequest { Seq = ulong.Parse(first[0].EventId!, System.Globalization.CultureInfo.InvariantCulture) });
            Assert.Equal("orgs.acme.sites.home.alerts.json.v1", stored.Message.Subject);

            // A client of node B that saw the firing alert resumes on node A with Last-Event-ID: the resolution, nothing else.
            var onB = Assert.Single(await firstOnly.WaitAsync(TimeSpan.FromSeconds(20)));
            var resumed = await AlertTests.OpenAlertStreamAsync(nodes[0].Client, 1, lastEventId: onB.EventId);
            var next = Assert.Single(await resumed.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(first[1].EventId, next.EventId);
            Assert.Equal(first[1].Data, next.Data);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task When_the_sites_owner_stops_another_node_takes_it_over_without_a_second_firing_and_the_resolution_still_comes()
    {
        var nodes = await StartNodesAsync(this);
        var stopped = new HashSet<WattstreamHost>();
        try
        {
            var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
            var owner = await OwnerAsync(nodes, t);
            var rest = nodes.Where(n => n != owner).ToArray();
            var watching = await AlertTests.OpenAlertStreamAsync(rest[0].Client, 2);

            await PushAsync(rest[0], MeterReading(t + 1000, 219)); // firing, on the owner
            await WaitForWebhooksAsync(1);

            // The owner stops as a service stop does: it hands the site on, and one of the others judges it.
            stopped.Add(owner);
            await owner.DisposeAsync();
            WattstreamHost? next = null;
            await Eventually.UntilAsync(
                () =>
                {
                    next = rest.SingleOrDefault(n => n.Service<AlertService>().Judges("acme", "home"));
                    return next is not null;
                },
                "another node judges the site");

            // Still low on the new owner: no second firing; then back above the threshold: the resolution.
            await PushAsync(rest[1], MeterReading(t + 2000, 217), MeterReading(t + 3000, 216));
            await PushAsync(rest[1], MeterReading(t + 4000, 229));

            var seen = await watching.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(["firing", "resolved"], seen.Select(e => (string?)JsonNode.Parse(e.Data)!["state"]));
            Assert.Equal(t + 4000, (long)JsonNode.Parse(seen[1].Data)!["data"]!["timestamp"]!);
            await WaitForWebhooksAsync(2);
            await Task.Delay(TimeSpan.FromSeconds(1)); // time for a stray call, were there one
            Assert.Equal(seen.Select(e => (e.EventId, (string?)JsonNode.Parse(e.Data)!["state"])), Received.Select(r => (r.AlertId, (string?)r.State)));
            foreach (var node in rest)
            {
                Assert.Equal(["resolved", "firing"], (await ListAsync(node)).Select(a => (string?)a!["state"]));
                Assert.Empty(JsonNode.Parse(await node.Client.GetStringAsync("/api/alerts/active"))!["alerts"]!.AsArray());
            }
        }
        finally
        {
            foreach (var node in nodes.Where(n => !stopped.Contains(n)))
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task When_the_owner_process_is_killed_another_node_takes_the_site_over_within_the_lease_without_a_second_firing()
    {
        // A real process is the owner: its name is picked so that rendezvous hashing gives it the site among the three.
        var killed = Enumerable.Range(1, 100).Select(i => $"node-k{i}").First(n => Rendezvous.Owner(SiteJob, ["node-a", "node-b", n]) == n);
        await using var a = await StartNodeAsync("node-a");
        await using var b = await StartNodeAsync("node-b");
        await using var process = await _nodes.StartProcessAsync(killed);
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
        await PushAsync(a, MeterReading(t, 230));
        await Eventually.UntilAsync(
            async () => JsonNode.Parse(await a.Client.GetStringAsync("/api/cluster"))!["nodes"]!.AsArray()
                .Any(n => (string?)n!["id"] == killed && n["jobs"]!.AsArray().Any(j => (string?)j == SiteJob)),
            "the process owns the site");
        var watching = await AlertTests.OpenAlertStreamAsync(a.Client, 2);

        await PushAsync(b, MeterReading(t + 1000, 219)); // firing, raised by the process
        await WaitForWebhooksAsync(1);
        // Recorded as delivered before the kill: the next owner does not send it again (at-least-once otherwise).
        await Eventually.UntilAsync(async () => await WebhookCursor.ReadAsync(_nats.Url, "ops", "acme", "home") == long.Parse(Received[0].AlertId!, System.Globalization.CultureInfo.InvariantCulture), "the firing alert's delivery recorded");
        Assert.False(a.Service<AlertService>().Judges("acme", "home") || b.Service<AlertService>().Judges("acme", "home"));

        await process.KillAsync(); // SIGKILL: no handover, its lease lapses
        await Eventually.UntilAsync(
            () => a.Service<AlertService>().Judges("acme", "home") || b.Service<AlertService>().Judges("acme", "home"),
            "a surviving node judges the site",
            TimeSpan.FromSeconds(15));

        await PushAsync(a, MeterReading(t + 2000, 217));
        await PushAsync(a, MeterReading(t + 3000, 229));

        var seen = await watching.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(["firing", "resolved"], seen.Select(e => (string?)JsonNode.Parse(e.Data)!["state"]));
        await WaitForWebhooksAsync(2);
        await Task.Delay(TimeSpan.FromSeconds(1)); // time for a stray call, were there one
        Assert.Equal(seen.Select(e => (e.EventId, (string?)JsonNode.Parse(e.Data)!["state"])), Received.Select(r => (r.AlertId, (string?)r.State)));
    }

    [Fact]
    public async Task Alerts_evaluate_is_still_accepted_in_cluster_mode_with_a_warning_naming_what_replaced_it()
    {
        var logs = new ConcurrentQueue<string>();
        await using var node = await _nodes.StartAsync(
            b => b.Logging.AddProvider(new CapturingLoggerProvider(logs)).AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace),
            "node-a",
            "--Alerts:Evaluate=false");

        Assert.Contains(logs, l => l.Contains("Alerts:Evaluate is ignored", StringComparison.Ordinal) && l.Contains("site:{org}/{site}", StringComparison.Ordinal));
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
        var owner = await OwnerAsync([node], t); // the site's job decides, not the setting
        await PushAsync(owner, MeterReading(t + 1000, 219));
        await WaitForWebhooksAsync(1);
        Assert.True((bool)JsonNode.Parse(await node.Client.GetStringAsync("/api/alerts/stats"))!["evaluating"]!);
    }

    [Fact]
    public async Task A_report_is_posted_once_by_the_sites_owner_and_the_stream_keeps_each_orgs_newest_alerts_only()
    {
        string[] bounded = ["--Alerts:MaxStoredPerOrg=2", "--Alerts:CleanupInterval=00:00:00.200"];
        await using var a = await StartNodeAsync("node-a", bounded);
        await using var b = await StartNodeAsync("node-b", bounded);
        // A node owns the site before the reports: the owner posts them (one made while no node owns its site is posted
        // by the next owner only while the stream still holds it, and this stream keeps two alerts).
        await OwnerAsync([a, b], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await Eventually.UntilAsync(() => b.Service<Wattstream.Hub.TelemetryHub>().Ders.Any(d => d.Address.Site == "home"), "node B knows the site");

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await AlertTests.SendJsonAsync(b.Client, HttpMethod.Post, "/api/alerts?site=home", $$"""{"type":"high_consumption","message":"report {{i}}"}""");
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            ids.Add(JsonNode.Parse(body)!["id"]!.ToString());
        }

        await WaitForWebhooksAsync(3);
        await Task.Delay(TimeSpan.FromSeconds(1)); // time for the other node's call, were there one
        Assert.Equal(ids, Received.Select(r => r.AlertId));

        // Each org's newest two: in the stream, and in every node's list.
        await using var client = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = _nats.Url });
        var js = new NATS.Client.JetStream.NatsJSContext(client);
        await Eventually.UntilAsync(
            async () => (await js.GetStreamAsync(ClusterAlertStream.StreamName)).Info.State.Messages == 2,
            "the stream trimmed to the org's newest two");
        foreach (var node in new[] { a, b })
        {
            await Eventually.UntilAsync(
                async () => (await ListAsync(node)).Select(x => x!["id"]!.ToString()).SequenceEqual(ids.Skip(1).Reverse()),
                "the node's list holds the newest two");
        }
    }
}
