using System.Globalization;
using System.Text.Json.Nodes;
using Wattstream.Alerts;
using Wattstream.Nats.Cluster;

namespace Wattstream.Server.Tests;

/// <summary>
/// Webhook deliveries in a cluster continue with a site's next owner: each webhook's cursor per site and the dead letters
/// live in NATS, so an owner killed while it retries loses no alert (the next owner sends, at least once, every alert
/// after the cursor), a dead-lettered alert is not sent again, and every node lists the same dead letters. The nodes,
/// rule, webhook and receiver are <see cref="ClusterAlertsTests"/>'.
/// </summary>
public sealed class ClusterWebhookTests : IAsyncLifetime
{
    private NatsServer _nats = null!;
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _receiver = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private string[] Settings(string name, params string[] more) => [.. ClusterAlertsTests.Settings(_nats.Url, _receiver.Url, name), .. more];

    private static long Id(JsonNode? alert) => long.Parse(alert!["id"]!.ToString(), CultureInfo.InvariantCulture);

    [Fact]
    public async Task An_owner_killed_while_retrying_loses_no_alert_the_next_owner_delivers_each_one_once_the_receiver_is_back()
    {
        // Retried for far longer than the test runs: nothing is dead-lettered, the deliveries are in progress at the kill.
        string[] retrying = ["--Alerts:WebhookDelivery:MaxAttempts=20", "--Alerts:WebhookDelivery:RetryDelay=00:00:00.100"];
        var killed = Enumerable.Range(1, 100).Select(i => $"node-k{i}").First(n => Rendezvous.Owner(ClusterAlertsTests.SiteJob, ["node-a", "node-b", n]) == n);
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-test-{Guid.NewGuid():N}");
        await using var a = await WattstreamHost.StartAsync(Settings("node-a", retrying));
        await using var b = await WattstreamHost.StartAsync(Settings("node-b", retrying));
        var process = await RunningHub.StartAsync(data, fileSizeLimitKb: null, Settings(killed, retrying));
        try
        {
            var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
            await ClusterAlertsTests.PushAsync(a, ClusterAlertsTests.MeterReading(t, 230));
            await Eventually.UntilAsync(
                async () => JsonNode.Parse(await a.Client.GetStringAsync("/api/cluster"))!["nodes"]!.AsArray()
                    .Any(n => (string?)n!["id"] == killed && n["jobs"]!.AsArray().Any(j => (string?)j == ClusterAlertsTests.SiteJob)),
                "the process owns the site");

            // The receiver is down: the process raises a firing alert and its resolution and keeps retrying the first.
            _receiver.Status = 503;
            await ClusterAlertsTests.PushAsync(b, ClusterAlertsTests.MeterReading(t + 1000, 219), ClusterAlertsTests.MeterReading(t + 2000, 229));
            long[] ids = [];
            await Eventually.UntilAsync(
                async () =>
                {
                    ids = [.. (await ClusterAlertsTests.ListAsync(a)).Select(Id).Order()];
                    return ids.Length == 2;
                },
                "the firing alert and its resolution in the list");
            var first = ids[0].ToString(CultureInfo.InvariantCulture);
            await Eventually.UntilAsync(() => _receiver.Calls.Count(c => c.AlertId == first) >= 2, "the process retrying the firing alert");
            Assert.Empty(_receiver.Delivered);

            await process.KillAsync(); // SIGKILL: its queue and its retry in progress die with it
            await Eventually.UntilAsync(
                () => a.Service<AlertService>().Judges("acme", "home") || b.Service<AlertService>().Judges("acme", "home"),
                "a surviving node owns the site",
                TimeSpan.FromSeconds(15));
            var before = _receiver.Calls.Count;
            await Eventually.UntilAsync(() => _receiver.Calls.Skip(before).Any(c => c.AlertId == first), "the new owner sending the firing alert again");

            _receiver.Status = 200;
            await Eventually.UntilAsync(
                () => ids.All(id => _receiver.Delivered.Any(c => c.AlertId == id.ToString(CultureInfo.InvariantCulture))),
                "every alert delivered",
                TimeSpan.FromSeconds(20));

            // In id order, under the alert's own id, the body the alert; and recorded as finished with.
            var delivered = _receiver.Delivered;
            Assert.Equal(ids, delivered.Select(c => long.Parse(c.AlertId!, CultureInfo.InvariantCulture)).Distinct());
            Assert.All(delivered, c => Assert.Equal(c.AlertId, JsonNode.Parse(c.Body)!["id"]!.ToString()));
            Assert.Equal(["firing", "resolved"], delivered.Select(c => c.State).Distinct());
            await Eventually.UntilAsync(async () => await WebhookCursor.ReadAsync(_nats.Url, "ops", "acme", "home") == ids[1], "the cursor at the resolution");
            foreach (var node in new[] { a, b })
            {
                Assert.Empty(JsonNode.Parse(await node.Client.GetStringAsync("/api/alerts/deliveries"))!["deadLetters"]!.AsArray());
            }
        }
        finally
        {
            await process.DisposeAsync();
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_dead_letter_made_on_one_node_is_listed_on_every_node_and_not_sent_again_by_the_next_owner()
    {
        // One attempt, and a token in the URL's query that must never be shown.
        string[] once = ["--Alerts:WebhookDelivery:MaxAttempts=1", $"--Alerts:Webhooks:0:Url={_receiver.Url}?token=kept-out-of-sight"];
        // One after the other: two nodes making the shared buckets at the same moment can clash (seen: "subjects overlap").
        WattstreamHost[] nodes = [await WattstreamHost.StartAsync(Settings("node-a", once)), await WattstreamHost.StartAsync(Settings("node-b", once))];
        var stopped = new HashSet<WattstreamHost>();
        try
        {
            var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
            var owner = await ClusterAlertsTests.OwnerAsync(nodes, t);
            var other = nodes.Single(n => n != owner);
            var ownerName = owner.Service<ClusterNode>().Node;

            _receiver.Status = 503;
            await ClusterAlertsTests.PushAsync(other, ClusterAlertsTests.MeterReading(t + 1000, 219)); // firing, dead-lettered by the owner
            JsonNode deliveries = null!;
            await Eventually.UntilAsync(
                async () =>
                {
                    deliveries = JsonNode.Parse(await other.Client.GetStringAsync("/api/alerts/deliveries"))!;
                    return deliveries["deadLetters"]!.AsArray().Count == 1;
                },
                "the owner's dead letter listed on the other node");
            var firing = Assert.Single(_receiver.Calls);
            var dead = deliveries["deadLetters"]![0]!;
            Assert.Equal(firing.AlertId, dead["alertId"]!.ToString());
            Assert.Equal("ops", (string?)dead["webhook"]);
            Assert.Equal(ownerName, (string?)dead["node"]);
            Assert.Equal(503, (int)dead["status"]!);
            Assert.Equal(other.Service<ClusterNode>().Node, (string?)deliveries["node"]); // whose counters these are
            Assert.Equal(0, (long)deliveries["webhooks"]![0]!["failed"]!); // the other node tried nothing
            foreach (var node in nodes)
            {
                var json = await node.Client.GetStringAsync("/api/alerts/deliveries");
                Assert.DoesNotContain("kept-out-of-sight", json, StringComparison.Ordinal);
                Assert.DoesNotContain(ClusterAlertsTests.Secret, json, StringComparison.Ordinal);
            }

            await Eventually.UntilAsync(async () => await WebhookCursor.ReadAsync(_nats.Url, "ops", "acme", "home") == long.Parse(firing.AlertId!, CultureInfo.InvariantCulture), "the dead letter recorded as finished with");

            // The owner stops; the other node takes the site over with the receiver back: the resolution comes, and
            // nothing before it (a firing alert sent again would have been queued first).
            _receiver.Status = 200;
            stopped.Add(owner);
            await owner.DisposeAsync();
            await Eventually.UntilAsync(() => other.Service<AlertService>().Judges("acme", "home"), "the other node owns the site");
            await ClusterAlertsTests.PushAsync(other, ClusterAlertsTests.MeterReading(t + 2000, 229));
            await Eventually.UntilAsync(() => _receiver.Delivered.Count == 1, "the resolution delivered");
            Assert.Equal(["firing", "resolved"], _receiver.Calls.Select(c => c.State));
            Assert.Single(JsonNode.Parse(await other.Client.GetStringAsync("/api/alerts/deliveries"))!["deadLetters"]!.AsArray());
        }
        finally
        {
            foreach (var node in nodes.Where(n => !stopped.Contains(n)))
            {
                await node.DisposeAsync();
            }
        }
    }
}
