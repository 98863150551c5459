using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Wattstream.Hub;
using Wattstream.Nats.Cluster;

namespace Wattstream.Server.Tests;

/// <summary>
/// Hub nodes in cluster mode (<c>Nats:Cluster=true</c>) on a real NATS cluster: three nats-servers clustered over routes
/// on loopback (<see cref="NatsServerCluster"/>), the stream at three replicas (<c>Nats:Replicas=3</c>), so losing one
/// server loses nothing a push acknowledged.
/// </summary>
public sealed class NatsServerClusterTests : IAsyncLifetime
{
    private const string Site = "plant";
    private const string Stream = "ENRICHED_TELEMETRY";
    private NatsServerCluster _nats = null!;
    private ClusterNodes _nodes = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServerCluster.StartAsync();
        _nodes = new ClusterNodes(_nats.Urls, "--Nats:Replicas=3");
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private Task<WattstreamHost> StartNodeAsync(string name) => _nodes.StartAsync(name);

    private static string Reading(long timestamp) =>
        $$"""{"org":"acme","site":"{{Site}}","device":"gw","der":"pv-a","type":"pv","timestamp":{{timestamp}},"W":-{{timestamp % 100_000}}}""";

    /// <summary>
    /// Pushes one reading until the push API acknowledges it: 200 with it accepted, or a duplicate (an earlier attempt
    /// answered 503 after the stream had stored it). While the cluster elects a new stream leader a push answers 503
    /// ("sending again is safe"), or the node's connection to its killed server is reset.
    /// </summary>
    private static async Task<long?> PushUntilAcknowledgedAsync(WattstreamHost node, long timestamp)
    {
        long? sequence = null;
        var attempts = 0;
        await Eventually.UntilAsync(
            async () =>
            {
                attempts++;
                using var response = await node.Client.PostAsync("/api/readings", new StringContent(Reading(timestamp), Encoding.UTF8, "application/json"));
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    return false;
                }

                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, body);
                var answer = JsonNode.Parse(body)!;
                if (answer["accepted"]!.AsArray().SingleOrDefault() is { } accepted)
                {
                    sequence = SseClient.Sequence((string)accepted["eventId"]!);
                    return true;
                }

                Assert.True(attempts > 1, $"a reading pushed once is no duplicate: {body}");
                Assert.Equal(0, (int)answer["duplicates"]!.AsArray().Single()!);
                return true;
            },
            $"the push of {timestamp} is acknowledged",
            TimeSpan.FromSeconds(45));
        return sequence;
    }

    private static long Timestamp(SseItem<string> item) => (long)JsonNode.Parse(item.Data)!["timestamp"]!;

    private static async Task<StreamInfo> StreamInfoAsync(string urls)
    {
        await using var client = new NatsConnection(new NatsOpts { Url = urls });
        return (await new NatsJSContext(client).GetStreamAsync(Stream)).Info;
    }

    [Fact]
    public async Task A_nats_server_killed_mid_stream_loses_and_doubles_nothing_on_either_node_and_rejoins()
    {
        await using var a = await StartNodeAsync("node-a");
        await using var b = await StartNodeAsync("node-b");
        var info = await StreamInfoAsync(_nats.Urls);
        Assert.Equal(3, info.Config.NumReplicas); // Nats:Replicas reached the stream
        Assert.Contains(info.Cluster!.Leader!, _nats.ServerNames);
        Assert.Equal(2, info.Cluster.Replicas!.Count);
        await using (var client = new NatsConnection(new NatsOpts { Url = _nats.Urls }))
        {
            // The coordination buckets are replicated like the readings: a lease outlives the server that had it.
            var kv = client.CreateKeyValueStoreContext();
            foreach (var bucket in new[] { ClusterBuckets.Nodes, ClusterBuckets.Leases })
            {
                Assert.Equal(3, (await (await kv.GetStoreAsync(bucket)).GetStatusAsync()).Info.Config.NumReplicas);
            }
        }

        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 100_000;
        await PushUntilAcknowledgedAsync(a, t);
        foreach (var node in new[] { a, b })
        {
            await Eventually.UntilAsync(() => node.Service<TelemetryHub>().Ders.Any(d => d.Address.Site == Site), "the node has the site from the stream");
        }

        // An SSE client on each node, reading live from here on.
        const int Count = 30;
        var reads = new List<Task<List<SseItem<string>>>>();
        foreach (var node in new[] { a, b })
        {
            var subscribers = node.Service<TelemetryHub>().Counters.Subscribers;
            reads.Add(SseClient.ReadAsync(node.Client, $"/stream/sites/{Site}", Count, TimeSpan.FromSeconds(120)));
            await Eventually.UntilAsync(() => node.Service<TelemetryHub>().Counters.Subscribers > subscribers, "the client is subscribed");
        }

        // Readings pushed to both nodes in turn; after a third of them the stream's leader is killed (SIGKILL): the
        // other two elect a new one and the nodes' connections to the killed server move to the others.
        var killed = -1;
        var acknowledged = new List<long>();
        for (var i = 1; i <= Count; i++)
        {
            if (i == 11)
            {
                killed = _nats.ServerNames.ToList().IndexOf((await StreamInfoAsync(_nats.Urls)).Cluster!.Leader!);
                _nats.Kill(killed);
            }

            await PushUntilAcknowledgedAsync(i % 2 == 0 ? a : b, t + i);
            acknowledged.Add(t + i);
        }

        var seen = await Task.WhenAll(reads);
        foreach (var items in seen)
        {
            Assert.All(items, i => Assert.Null(i.EventType is "gap" ? i.Data : null));
            Assert.Equal(acknowledged, items.Select(Timestamp)); // every acknowledged reading, once, in order
            var ids = items.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
            Assert.Equal(ids.Distinct().Order(), ids); // ids increasing: nothing doubled, nothing reordered
        }

        Assert.Equal(seen[0].Select(i => i.EventId), seen[1].Select(i => i.EventId)); // one id per reading, on either node

        // The killed server comes back on its store, rejoins, and its replica of the stream catches up.
        Assert.NotEqual(-1, killed);
        await _nats.RestartAsync(killed);
        await Eventually.UntilAsync(
            async () =>
            {
                var cluster = (await StreamInfoAsync(_nats.Servers[killed].Url)).Cluster!;
                var members = cluster.Replicas!.Select(r => r.Name).Append(cluster.Leader).ToHashSet();
                return members.SetEquals(_nats.ServerNames) && cluster.Replicas!.All(r => r.Current && !r.Offline);
            },
            "the restarted server is a current replica of the stream again",
            TimeSpan.FromSeconds(45));
        var after = await StreamInfoAsync(_nats.Servers[killed].Url);
        Assert.Equal(Count + 1L, after.State.Messages);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("6")]
    public async Task Replicas_outside_one_to_five_are_refused_at_start(string replicas)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => WattstreamHost.StartAsync(
            "--Simulation:Enabled=false", "--Nats:Url=nats://127.0.0.1:4222", $"--Nats:Replicas={replicas}"));

        Assert.Contains("Replicas must be between 1 and 5", failure.ToString(), StringComparison.Ordinal); // a known setting, out of range
    }
}
