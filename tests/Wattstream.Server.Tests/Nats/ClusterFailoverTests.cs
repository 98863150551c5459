using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Nats.Cluster;
using Wattstream.Sources;
using Xunit.Abstractions;

namespace Wattstream.Server.Tests;

/// <summary>
/// Issue 29, point 7: three hub nodes — real processes, so one can be killed with SIGKILL — with the same configuration
/// on a three-server NATS cluster, one source reading an emulated whatwatt Go (one live client at a time). The node that
/// reads the device is killed: its source moves to a survivor within two lease TTLs and reads the device again over one
/// connection, and an SSE client of the site that was on the killed node resumes on a survivor with the last
/// <c>Last-Event-ID</c> it saw and gets every reading the cluster took from the device, once, in order.
/// </summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Meter = "99900077712";
    private const string Password = "failover-pw";
    private const string SitePath = "/stream/sites/home";
    private const string Stream = "ENRICHED_TELEMETRY";
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(3);
    private static readonly string[] Names = ["node-a", "node-b", "node-c"];
    private NatsServerCluster _nats = null!;
    private WhatwattEmulator _device = null!;
    private ClusterNodes _nodes = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServerCluster.StartAsync();
        _device = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = 0, Password = Password, Interval = TimeSpan.FromMilliseconds(200), Seed = 7 }, _ => { });
        await _device.StartAsync();
        // The same configuration on every node: the stream and buckets at three replicas, a short lease, the one source.
        _nodes = new ClusterNodes(
            _nats.Urls,
            "--Nats:Replicas=3", $"--Nats:LeaseTtl={LeaseTtl:c}",
            "--Sources:0:Id=meter", "--Sources:0:Kind=Whatwatt", $"--Sources:0:Url={_device.BaseAddress}", $"--Sources:0:Password={Password}",
            "--Sources:0:Org=acme", "--Sources:0:Site=home", $"--Sources:0:Der={Meter}",
            "--SourceTiming:BackoffBase=00:00:00.050", "--SourceTiming:BackoffCap=00:00:00.300");
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _device.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private static async Task<JsonNode> SourceAsync(RunningHub hub) =>
        Assert.Single(JsonNode.Parse(await hub.Client.GetStringAsync("/api/sources"))!.AsArray())!;

    /// <summary>The owner every one of <paramref name="hubs"/> names for the source, with that status; null while they differ.</summary>
    private static async Task<string?> AgreedOwnerAsync(IEnumerable<RunningHub> hubs, string status)
    {
        var seen = await Task.WhenAll(hubs.Select(SourceAsync));
        var owners = seen.Select(s => (string?)s["owner"]).Distinct().ToArray();
        return owners.Length == 1 && seen.All(s => (string?)s["status"] == status) ? owners[0] : null;
    }

    private static long Sequence(SseItem<string> item) => SseClient.Sequence(item.EventId!);

    private static long Timestamp(SseItem<string> item) => (long)JsonNode.Parse(item.Data)!["timestamp"]!;

    /// <summary>
    /// Reads the site's stream from <paramref name="hub"/> into <paramref name="into"/> (readings only) until
    /// <paramref name="done"/> says so, the hub closes the connection (it was killed), or <paramref name="timeout"/>.
    /// </summary>
    private static async Task ReadSiteAsync(RunningHub hub, string? lastEventId, List<SseItem<string>> into, Func<SseItem<string>, bool> done, TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = hub.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var reading = new CancellationTokenSource(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, SitePath);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, reading.Token);
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync(reading.Token);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(reading.Token))
            {
                Assert.NotEqual("gap", item.EventType); // a resumed client is told of a gap it cannot be given: there must be none
                if (!item.Data.Contains("\"timestamp\"", StringComparison.Ordinal))
                {
                    continue;
                }

                lock (into)
                {
                    into.Add(item);
                }

                if (done(item))
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException && !reading.IsCancellationRequested)
        {
            // The connection was cut: the hub is gone.
        }
    }

    private static int Count(List<SseItem<string>> items)
    {
        lock (items)
        {
            return items.Count;
        }
    }

    [Fact]
    public async Task A_killed_hub_nodes_source_moves_within_two_lease_ttls_and_its_sse_client_resumes_on_a_survivor_missing_and_doubling_nothing()
    {
        // One after the other: nodes started at the same moment on a three-server NATS were seen to fail making the
        // replicated buckets ("No API response", unlike the stream, whose creation asks again).
        var hubs = new Dictionary<string, RunningHub>(StringComparer.Ordinal);
        foreach (var name in Names)
        {
            hubs[name] = await _nodes.StartProcessAsync(name);
        }

        // The three nodes settled: every node names the source's rendezvous owner among the three, connected, and the
        // device has that one client (a node joining later may take the source over once).
        var owner = Rendezvous.Owner(SourceHost.JobKey("meter"), Names)!;
        await Eventually.UntilAsync(
            async () => await AgreedOwnerAsync(hubs.Values, "CONNECTED") == owner && _device.ConnectedClients == 1,
            $"every node names {owner} the source's owner, connected, and the device has one client",
            TimeSpan.FromSeconds(60));

        // An SSE client of the site on the owner, reading until the owner's connection breaks.
        var beforeKill = new List<SseItem<string>>();
        var onOwner = ReadSiteAsync(hubs[owner], null, beforeKill, _ => false, TimeSpan.FromMinutes(2));
        await Eventually.UntilAsync(() => Count(beforeKill) >= 5, "the client on the owner gets the device's readings", TimeSpan.FromSeconds(30));

        // kill -9: nothing of the owner's shutdown runs; its leases lapse and a survivor takes the source.
        var sinceKill = Stopwatch.StartNew();
        await hubs[owner].KillAsync();
        var survivors = hubs.Where(h => h.Key != owner).Select(h => h.Value).ToArray();
        await onOwner.WaitAsync(TimeSpan.FromSeconds(30)); // the client sees its connection end

        // The client reconnects at once to a survivor with the last id it saw, as an EventSource (or nginx) would.
        var lastSeen = beforeKill[^1];
        var resumedItems = new List<SseItem<string>>();
        var until = long.MaxValue;
        var resumed = ReadSiteAsync(survivors[0], lastSeen.EventId, resumedItems, item => Sequence(item) >= Interlocked.Read(ref until), TimeSpan.FromMinutes(2));

        string? next = null;
        await Eventually.UntilAsync(
            async () =>
            {
                next = await AgreedOwnerAsync(survivors, "CONNECTED");
                return next is not null && next != owner && _device.ConnectedClients == 1;
            },
            "a survivor owns the source, connected, and the device has one client again",
            2 * LeaseTtl + TimeSpan.FromSeconds(15)); // waited for longer than asserted, so a failure says how long it took
        var takeover = sinceKill.Elapsed;
        Assert.True(takeover <= 2 * LeaseTtl, $"the source moved in {takeover}, more than two lease TTLs");
        Assert.Contains(next, hubs.Keys);

        // The client reads on until it has ten readings more than the stream held at the takeover: the new owner's.
        await using var nats = new NatsConnection(new NatsOpts { Url = _nats.Urls });
        var js = new NatsJSContext(nats);
        var atTakeover = (long)(await js.GetStreamAsync(Stream)).Info.State.LastSeq;
        Interlocked.Exchange(ref until, atTakeover + 10);
        await resumed.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(Count(resumedItems) > 0 && Sequence(resumedItems[^1]) >= atTakeover + 10, $"the resumed client got {Count(resumedItems)} readings, the last {resumedItems.LastOrDefault().EventId}");

        // Every reading the cluster took from the device from the client's first on — the stream's messages, those the
        // killed node appended before it died included — reached the client once, in order, across the move.
        var got = beforeKill.Concat(resumedItems).ToArray();
        var stored = new List<(long Sequence, long Timestamp)>();
        var stream = await js.GetStreamAsync(Stream);
        for (var sequence = Sequence(got[0]); sequence <= Sequence(got[^1]); sequence++)
        {
            var message = (await stream.GetAsync(new StreamMsgGetRequest { Seq = (ulong)sequence })).Message;
            Assert.StartsWith("orgs.acme.sites.home.", message.Subject, StringComparison.Ordinal); // this site's readings only: no other writer
            stored.Add((sequence, (long)JsonNode.Parse(message.Data.Span)!["timestamp"]!));
        }

        Assert.Equal(stored, got.Select(i => (Sequence(i), Timestamp(i))));
        Assert.Contains(got, i => Sequence(i) > Sequence(lastSeen)); // the resumed part is not empty
        // One reading each: the device's timestamps (its clock's second, numbered within it) only go forward.
        var timestamps = got.Select(Timestamp).ToArray();
        Assert.True(timestamps.Zip(timestamps.Skip(1)).All(p => p.First < p.Second), "the device's readings are each there once, in order");
        // What the device sent while no node read it (a live stream does not replay) is the only hole in its readings:
        // the widest step between two readings is the move, to within the device clock's whole second and a busy
        // machine's lag of the killed node's last appends.
        var widest = TimeSpan.FromMilliseconds(timestamps.Zip(timestamps.Skip(1)).Max(p => p.Second - p.First));
        Assert.True(widest <= takeover + TimeSpan.FromSeconds(3), $"the readings have a hole of {widest}, the move took {takeover}");
        output.WriteLine(
            $"killed {owner}; {next} connected after {takeover.TotalSeconds:F1} s; the client read {beforeKill.Count} readings there and "
            + $"{resumedItems.Count} on {survivors[0].BaseAddress} after resuming from {lastSeen.EventId}; widest step between readings {widest.TotalSeconds:F1} s");
    }
}
