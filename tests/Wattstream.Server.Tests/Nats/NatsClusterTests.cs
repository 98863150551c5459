using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Nats.Cluster;

namespace Wattstream.Server.Tests;

/// <summary>
/// Several hub nodes as one service (<c>Nats:Cluster=true</c>) on a real nats-server: JetStream is the log, every node a
/// fan-out cache of it, event ids are stream sequences, so a client may resume on any node.
/// </summary>
public sealed class NatsClusterTests : IAsyncLifetime
{
    private const string Site = "plant";
    private NatsServer _nats = null!;
    private ClusterNodes _nodes = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _nodes = new ClusterNodes(_nats.Url);
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private Task<WattstreamHost> StartNodeAsync(string name, params string[] settings) => _nodes.StartAsync(name, settings);

    private static string Reading(long timestamp, string der = "pv-a") =>
        $$"""{"org":"acme","site":"{{Site}}","device":"gw","der":"{{der}}","type":"pv","timestamp":{{timestamp}},"W":-{{timestamp % 100_000}}}""";

    /// <summary>Pushes readings and returns the event ids the push API gave them.</summary>
    private static async Task<string[]> PushAsync(WattstreamHost node, IEnumerable<long> timestamps)
    {
        using var response = await node.Client.PostAsync("/api/readings", new StringContent(string.Join('\n', timestamps.Select(t => Reading(t))), Encoding.UTF8, "application/x-ndjson"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!["accepted"]!.AsArray().Select(a => (string)a!["eventId"]!).ToArray();
    }

    /// <summary>Pushes until the stream takes it (after a nats-server restart the push answers 503 until NATS is back).</summary>
    private static async Task PushUntilTakenAsync(WattstreamHost node, IEnumerable<long> timestamps)
    {
        var body = string.Join('\n', timestamps.Select(t => Reading(t)));
        await Eventually.UntilAsync(
            async () =>
            {
                using var response = await node.Client.PostAsync("/api/readings", new StringContent(body, Encoding.UTF8, "application/x-ndjson"));
                return response.StatusCode == HttpStatusCode.OK;
            },
            "the push is taken once NATS is back",
            TimeSpan.FromSeconds(30));
    }

    private static Task WaitUntilNodeKnowsSiteAsync(WattstreamHost node) =>
        Eventually.UntilAsync(() => node.Service<TelemetryHub>().Ders.Any(d => d.Address.Site == Site), "the node has the site from the stream");

    private static long Timestamp(SseItem<string> item) => (long)JsonNode.Parse(item.Data)!["timestamp"]!;

    [Fact]
    public async Task A_reading_pushed_to_node_A_reaches_an_sse_client_on_node_B_under_the_same_event_id()
    {
        await using var a = await StartNodeAsync("node-a");
        await using var b = await StartNodeAsync("node-b");
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await PushAsync(a, [t]);
        await WaitUntilNodeKnowsSiteAsync(b);

        var subscribers = b.Service<TelemetryHub>().Counters.Subscribers;
        var read = SseClient.ReadAsync(b.Client, $"/stream/sites/{Site}", 1, TimeSpan.FromSeconds(15), until: i => i.Data.Contains($"{t + 1}", StringComparison.Ordinal));
        await Eventually.UntilAsync(() => b.Service<TelemetryHub>().Counters.Subscribers > subscribers, "the client is subscribed on node B");
        var ids = await PushAsync(a, [t + 1]);
        var item = (await read).Last();

        Assert.Equal(t + 1, Timestamp(item));
        Assert.Equal(ids.Single(), item.EventId); // one id for the reading, whichever node answers
        var epoch = a.Service<TelemetryHub>().Epoch;
        Assert.Equal(epoch, b.Service<TelemetryHub>().Epoch);
        Assert.Equal(b.Service<ClusterNode>().Epoch, epoch);
        Assert.StartsWith($"{epoch}-", item.EventId, StringComparison.Ordinal);
        var node = JsonNode.Parse(await b.Client.GetStringAsync("/api/nats"))!["cluster"]!;
        Assert.Equal("node-b", (string?)node["node"]);
        Assert.Equal("open", (string?)node["state"]);
        Assert.True((long)node["delivered"]! >= 2);
        var metrics = await b.Client.GetStringAsync("/metrics");
        Assert.Contains($"wattstream_cluster_sequence {SseClient.Sequence(item.EventId!)}", metrics, StringComparison.Ordinal);

        // The push API's id is the stream sequence: the reading is where it says in JetStream.
        await using var client = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = _nats.Url });
        var js = new NATS.Client.JetStream.NatsJSContext(client);
        var stream = await js.GetStreamAsync("ENRICHED_TELEMETRY");
        var stored = await stream.GetAsync(new NATS.Client.JetStream.Models.StreamMsgGetRequest { Seq = (ulong)SseClient.Sequence(item.EventId!) });
        Assert.Equal((t + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), JsonNode.Parse(stored.Message.Data.Span)!["timestamp"]!.ToString());
    }

    [Fact]
    public async Task A_reading_pushed_to_both_nodes_is_one_event()
    {
        await using var a = await StartNodeAsync("node-a");
        await using var b = await StartNodeAsync("node-b");
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var fromA = await PushAsync(a, [t]);
        using var again = await b.Client.PostAsync("/api/readings", new StringContent(Reading(t), Encoding.UTF8, "application/json"));
        var text = await again.Content.ReadAsStringAsync();
        Assert.True(again.StatusCode == HttpStatusCode.OK, text);
        var answer = JsonNode.Parse(text)!;

        Assert.Single(fromA);
        Assert.Empty(answer["accepted"]!.AsArray());
        Assert.Equal(0, (int)answer["duplicates"]![0]!); // the stream had it: a duplicate, on the other node too
        await Eventually.UntilAsync(() => (b.Service<TelemetryHub>().Counters.Accepted == 1), "node B has the one event");
        Assert.Equal(1, a.Service<TelemetryHub>().Counters.Accepted);
    }

    [Fact]
    public async Task Readings_a_node_makes_itself_reach_every_node()
    {
        // Node A runs the simulator: its readings go to the stream without waiting, and come back to both nodes.
        await using var a = await StartNodeAsync("node-a", "--Simulation:Enabled=true", "--Simulation:Sites=1");
        await using var b = await StartNodeAsync("node-b");

        await Eventually.UntilAsync(() => (b.Service<TelemetryHub>().Counters.Accepted >= 20), "node B gets node A's simulated readings");
        // The same events under the same ids on both nodes.
        var lastOnA = a.Service<TelemetryHub>().GetLast(SubjectPattern.All).ToDictionary(e => e.Subject, e => e.Id);
        Assert.NotEmpty(lastOnA);
        var ring = b.Service<TelemetryHub>().Subscribe(SubjectPattern.All, new SubscribeOptions { ResumeAfter = 0 });
        var onB = new Dictionary<long, string>();
        while (ring.TryRead(out var e))
        {
            onB[e.Id] = e.Subject;
        }

        ring.Dispose();
        Assert.All(lastOnA.Where(l => onB.ContainsKey(l.Value)), l => Assert.Equal(l.Key, onB[l.Value]));
        Assert.Contains(lastOnA, l => onB.ContainsKey(l.Value));
        Assert.Equal(0, b.Service<ClusterNode>().Status.Failed);
        Assert.True(a.Service<ClusterNode>().Status.Appended >= 20);
    }

    [Fact]
    public async Task A_client_moving_from_node_A_to_node_B_with_Last_Event_ID_misses_nothing_and_gets_nothing_twice()
    {
        await using var a = await StartNodeAsync("node-a");
        // Node B holds only 16 events, so most of what the client missed comes from the stream itself.
        await using var b = await StartNodeAsync("node-b", "--Hub:ReplayCapacity=16", "--Storage:Enabled=false");
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 100_000;
        await PushAsync(a, [t]);
        await WaitUntilNodeKnowsSiteAsync(a);

        var subscribers = a.Service<TelemetryHub>().Counters.Subscribers;
        var onA = SseClient.ReadAsync(a.Client, $"/stream/sites/{Site}", 10, TimeSpan.FromSeconds(15));
        await Eventually.UntilAsync(() => a.Service<TelemetryHub>().Counters.Subscribers > subscribers, "the client is subscribed on node A");
        await PushAsync(a, Enumerable.Range(1, 10).Select(i => t + i));
        var seen = await onA;
        Assert.Equal(Enumerable.Range(1, 10).Select(i => t + i), seen.Select(Timestamp));

        // Away from the service while 40 readings pass (of this site, and of another site the client does not follow).
        await PushAsync(a, Enumerable.Range(11, 40).Select(i => t + i));
        using (var other = await a.Client.PostAsync("/api/readings", new StringContent(Reading(t).Replace(Site, "elsewhere", StringComparison.Ordinal), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }

        await Eventually.UntilAsync(() => (b.Service<TelemetryHub>().Counters.Accepted >= 52), "node B has caught up");
        var subscribersOnB = b.Service<TelemetryHub>().Counters.Subscribers;
        var onB = SseClient.ReadAsync(b.Client, $"/stream/sites/{Site}", 45, TimeSpan.FromSeconds(20), lastEventId: seen[^1].EventId);
        await Eventually.UntilAsync(() => b.Service<TelemetryHub>().Counters.Subscribers > subscribersOnB, "the client has resumed on node B");
        await PushAsync(a, Enumerable.Range(51, 5).Select(i => t + i)); // and live after that
        var resumed = await onB;

        Assert.All(resumed, i => Assert.Null(i.EventType is "gap" ? i.Data : null));
        Assert.Equal(Enumerable.Range(11, 45).Select(i => t + i), resumed.Select(Timestamp));
        var ids = resumed.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
        Assert.Equal(ids.Order(), ids);
        Assert.True(ids[0] > SseClient.Sequence(seen[^1].EventId!));
    }

    [Fact]
    public async Task A_node_started_later_resumes_a_client_from_the_stream()
    {
        await using var a = await StartNodeAsync("node-a");
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 100_000;
        var ids = await PushAsync(a, Enumerable.Range(0, 60).Select(i => t + i));

        // A node that was not there when the readings were made, with a ring smaller than the gap.
        await using var late = await StartNodeAsync("node-late", "--Hub:ReplayCapacity=16", "--Storage:Enabled=false");
        await WaitUntilNodeKnowsSiteAsync(late);
        var resumed = await SseClient.ReadAsync(late.Client, $"/stream/sites/{Site}", 40, TimeSpan.FromSeconds(20), lastEventId: ids[19]);

        Assert.Equal(Enumerable.Range(20, 40).Select(i => t + i), resumed.Select(Timestamp));
        Assert.Equal(ids[20..], resumed.Select(i => i.EventId!));
    }

    [Fact]
    public async Task A_nats_server_restart_mid_stream_loses_nothing()
    {
        await using var a = await StartNodeAsync("node-a");
        await using var b = await StartNodeAsync("node-b");
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 100_000;
        await PushAsync(a, [t]);
        await WaitUntilNodeKnowsSiteAsync(b);

        var subscribers = b.Service<TelemetryHub>().Counters.Subscribers;
        var onB = SseClient.ReadAsync(b.Client, $"/stream/sites/{Site}", 20, TimeSpan.FromSeconds(60));
        await Eventually.UntilAsync(() => b.Service<TelemetryHub>().Counters.Subscribers > subscribers, "the client is subscribed on node B");
        await PushAsync(a, Enumerable.Range(1, 10).Select(i => t + i));
        await Eventually.UntilAsync(() => (b.Service<TelemetryHub>().Counters.Accepted >= 11), "node B has the first ten");
        await _nats.RestartGracefullyAsync(); // stopped (SIGTERM) and started again on the same store: JetStream keeps what it acknowledged
        await PushUntilTakenAsync(a, Enumerable.Range(11, 10).Select(i => t + i));
        var items = await onB;

        // Every reading once. The batch pushed across the restart may be stored out of its order: a reading whose
        // publish the restart cut is sent again by the retry and lands after those of the batch that went through
        // ("sending them again is safe"); the client gets the stream's order, with rising ids.
        Assert.Equal(Enumerable.Range(1, 10).Select(i => t + i), items.Take(10).Select(Timestamp));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => t + i), items.Select(Timestamp).Order());
        Assert.Equal(items.Count, items.Select(i => i.EventId).Distinct().Count());
        var ids = items.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
        Assert.Equal(ids.Order(), ids);
    }

    [Fact]
    public async Task A_cluster_node_without_nats_refuses_to_start_and_says_why()
    {
        using var down = LoopbackPort.Closed(out var port); // no NATS there
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => WattstreamHost.StartAsync(
            "--Simulation:Enabled=false", $"--Nats:Url=nats://127.0.0.1:{port}", "--Nats:Cluster=true", "--Nats:ConnectTimeout=00:00:00.500"));

        Assert.Contains("Nats:Cluster", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", failure.Message, StringComparison.Ordinal);
    }
}
