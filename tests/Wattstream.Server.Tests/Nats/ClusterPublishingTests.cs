using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Wattstream.Nats;
using Wattstream.Nats.Cluster;

namespace Wattstream.Server.Tests;

/// <summary>
/// Issue 29, statuses and summaries once: every cluster node computes statuses and site summaries from the cluster's
/// stream and serves them, and one node publishes each on NATS — the holder of <c>publish:status</c> and
/// <c>publish:summary</c> — so a NATS subscriber gets each change once, not once per node; a new holder starts with the
/// present.
/// </summary>
public sealed class ClusterPublishingTests : IAsyncLifetime
{
    private static readonly string[] Nodes = ["node-a", "node-b"];
    private static readonly string StatusJob = NatsPublisher.PublishJob("status");
    private static readonly string SummaryJob = NatsPublisher.PublishJob("summary");
    private NatsServer _nats = null!;
    private ClusterNodes _nodes = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _nodes = new ClusterNodes(_nats.Url, "--Nats:LeaseTtl=00:00:02", "--Energy:SummaryInterval=00:00:00.100");
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private Task<WattstreamHost> StartNodeAsync(string name, params string[] settings) => _nodes.StartAsync(name, settings);

    private static async Task PushAsync(WattstreamHost node, string der, long timestamp)
    {
        var reading = $$"""{"org":"acme","site":"plant","device":"gw","der":"{{der}}","type":"pv","timestamp":{{timestamp}},"W":-2500}""";
        using var response = await node.Client.PostAsync("/api/readings", new StringContent(reading, Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonNode> NatsLinkAsync(WattstreamHost node) => JsonNode.Parse(await node.Client.GetStringAsync("/api/nats"))!;

    /// <summary>Collects every message on the subject until disposed.</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _reading;

        private Collector(INatsSub<byte[]> subscription)
        {
            _reading = Task.Run(async () =>
            {
                try
                {
                    await foreach (var message in subscription.Msgs.ReadAllAsync(_stop.Token))
                    {
                        Messages.Enqueue(JsonNode.Parse(message.Data)!);
                    }
                }
                catch (OperationCanceledException)
                {
                }
                finally
                {
                    await subscription.DisposeAsync();
                }
            });
        }

        public ConcurrentQueue<JsonNode> Messages { get; } = new();

        public static async Task<Collector> StartAsync(NatsConnection client, string subject)
        {
            var subscription = await client.SubscribeCoreAsync<byte[]>(subject);
            await client.PingAsync(); // the subscription is at the server before anything is published
            return new Collector(subscription);
        }

        public int Count(string der, string status) => Messages.Count(m => (string?)m["der"] == der && (string?)m["status"] == status);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _reading;
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task Statuses_and_summaries_are_published_once_by_one_node_and_another_takes_over_with_the_present_when_it_stops()
    {
        await using var a = await StartNodeAsync("node-a");
        var b = await StartNodeAsync("node-b");
        var bStopped = false;
        try
        {
            var hosts = new Dictionary<string, WattstreamHost>(StringComparer.Ordinal) { ["node-a"] = a, ["node-b"] = b };
            // Both nodes up, and each publishing job held by its rendezvous owner (a node joining later may have moved it).
            var statusPublisher = Rendezvous.Owner(StatusJob, Nodes)!;
            var summaryPublisher = Rendezvous.Owner(SummaryJob, Nodes)!;
            await Eventually.UntilAsync(
                () => hosts[statusPublisher].Service<ClusterNode>().Owned.Contains(StatusJob) && hosts[summaryPublisher].Service<ClusterNode>().Owned.Contains(SummaryJob)
                    && hosts.Values.Count(h => h.Service<ClusterNode>().Owned.Contains(StatusJob)) == 1,
                "each publishing job held by one node, its rendezvous owner");

            await using var client = new NatsConnection(new NatsOpts { Url = _nats.Url });
            await using var statuses = await Collector.StartAsync(client, "orgs.acme.sites.plant.devices.*.ders.*.status.json.v1");
            await using var summaries = await Collector.StartAsync(client, "orgs.acme.sites.plant.summary.json.v1");
            var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await PushAsync(a, "pv-1", t);
            await PushAsync(b, "pv-1", t + 1000);
            await Eventually.UntilAsync(() => statuses.Count("pv-1", "CONNECTED") >= 1 && !summaries.Messages.IsEmpty, "the status and a summary on NATS");
            await Task.Delay(TimeSpan.FromSeconds(1)); // time for a second node's copy, were there one
            Assert.Equal(1, statuses.Count("pv-1", "CONNECTED"));

            // Each node serves both feeds from what it computes; only the job's holder publishes them.
            var other = hosts.Single(h => h.Key != statusPublisher).Value;
            var summary = await SseClient.ReadAsync(other.Client, "/stream/sites/plant/summary", 1, TimeSpan.FromSeconds(15));
            Assert.Equal(2500, (double)JsonNode.Parse(Assert.Single(summary).Data)!["pvW"]!);
            Assert.Equal(0, (long)(await NatsLinkAsync(other))["statusesPublished"]!);
            Assert.True((long)(await NatsLinkAsync(hosts[statusPublisher]))["statusesPublished"]! >= 1);
            Assert.Equal(0, (long)(await NatsLinkAsync(hosts.Single(h => h.Key != summaryPublisher).Value))["summariesPublished"]!);

            // The status publisher stops: the other node takes the job, publishes the present (pv-1 once more: a state
            // repeated, so nothing that changed during the move is missed), then each change once.
            var survivor = other;
            var leaving = hosts[statusPublisher];
            if (leaving == b)
            {
                bStopped = true;
            }

            var before = statuses.Count("pv-1", "CONNECTED");
            await leaving.DisposeAsync();
            await Eventually.UntilAsync(() => survivor.Service<ClusterNode>().Owned.Contains(StatusJob), "the survivor publishes statuses", TimeSpan.FromSeconds(10));
            await Eventually.UntilAsync(() => statuses.Count("pv-1", "CONNECTED") == before + 1, "the present published by the new holder");
            await PushAsync(survivor, "pv-2", t + 2000);
            await Eventually.UntilAsync(() => statuses.Count("pv-2", "CONNECTED") >= 1, "pv-2's status on NATS");
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(1, statuses.Count("pv-2", "CONNECTED"));
            Assert.Equal(before + 1, statuses.Count("pv-1", "CONNECTED"));
        }
        finally
        {
            if (!bStopped)
            {
                await b.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Nats_PublishStatus_false_is_accepted_in_cluster_mode_with_a_warning_naming_what_replaced_it()
    {
        var logs = new ConcurrentQueue<string>();
        // The cluster's settings alone (not this class's lease and summary timing), and the setting the warning is about.
        await using var node = await WattstreamHost.StartAsync(
            builder => builder.Logging.AddProvider(new CapturingLoggerProvider(logs)).AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace),
            [.. ClusterNodes.ClusterSettings(_nats.Url, "node-a"), "--Nats:PublishStatus=false"]);
        Assert.Contains(logs, line => line.Contains("Nats:PublishStatus=false is ignored in cluster mode", StringComparison.Ordinal)
            && line.Contains("publish:status", StringComparison.Ordinal));

        // Statuses are published all the same: by this node, the cluster's only one.
        await Eventually.UntilAsync(() => node.Service<ClusterNode>().Owned.Contains(StatusJob), "the node holds publish:status");
        await using var client = new NatsConnection(new NatsOpts { Url = _nats.Url });
        await using var statuses = await Collector.StartAsync(client, "orgs.acme.sites.plant.devices.*.ders.*.status.json.v1");
        await PushAsync(node, "pv-9", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await Eventually.UntilAsync(() => statuses.Count("pv-9", "CONNECTED") == 1, "pv-9's status on NATS");
    }
}
