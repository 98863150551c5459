using System.Text.Json.Nodes;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Hub.Status;
using Wattstream.Sources;

namespace Wattstream.Server.Tests;

/// <summary>
/// Issue 29, sources run once: hub nodes with the same <c>Sources</c> configuration on a real nats-server read a real
/// (emulated) whatwatt Go — which serves one live client — through one node only, the source's lease holder; every node
/// serves its readings and shows on <c>/api/sources</c> the same owner with the owner's status; the source moves when
/// its owner stops (gracefully, or killed) and its DERs' status follows the owner on every node.
/// </summary>
public sealed class ClusterSourcesTests : IAsyncLifetime
{
    private const string Meter = "99900077711";
    private const string Password = "cluster-pw";
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(2);
    private NatsServer _nats = null!;
    private WhatwattEmulator _device = null!;
    private ClusterNodes _nodes = null!;
    private bool _deviceStopped;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _device = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = 0, Password = Password, Interval = TimeSpan.FromMilliseconds(200), Seed = 29 }, _ => { });
        await _device.StartAsync();
        // The same source on every node, only the node id differs.
        _nodes = new ClusterNodes(
            _nats.Url,
            $"--Nats:LeaseTtl={LeaseTtl:c}",
            "--Sources:0:Id=meter", "--Sources:0:Kind=Whatwatt", $"--Sources:0:Url={_device.BaseAddress}", $"--Sources:0:Password={Password}",
            "--Sources:0:Org=acme", "--Sources:0:Site=home", $"--Sources:0:Der={Meter}",
            "--SourceTiming:BackoffBase=00:00:00.050", "--SourceTiming:BackoffCap=00:00:00.300");
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await StopDeviceAsync();
        await _nats.DisposeAsync();
    }

    private async Task StopDeviceAsync()
    {
        if (!_deviceStopped)
        {
            _deviceStopped = true;
            await _device.DisposeAsync();
        }
    }

    private static async Task<JsonNode?> SourceAsync(HttpClient client)
    {
        var sources = JsonNode.Parse(await client.GetStringAsync("/api/sources"))!.AsArray();
        return Assert.Single(sources);
    }

    /// <summary>Waits until every client's <c>/api/sources</c> names one owner with this status, and returns the owner.</summary>
    private static async Task<string> AgreedOwnerAsync(HttpClient[] clients, string status, Func<string, bool> acceptable, TimeSpan timeout, string what)
    {
        string? owner = null;
        await Eventually.UntilAsync(
            async () =>
            {
                var seen = await Task.WhenAll(clients.Select(SourceAsync));
                var owners = seen.Select(s => (string?)s!["owner"]).Distinct().ToArray();
                owner = owners.Length == 1 ? owners[0] : null;
                return owner is not null && acceptable(owner) && seen.All(s => (string?)s!["status"] == status && (long)s["events"]! > 0);
            },
            what,
            timeout);
        return owner!;
    }

    private static DerStatus? MeterStatus(WattstreamHost node) => node.Service<StatusBoard>().Snapshot().SingleOrDefault(s => s.Der.Der == Meter);

    [Fact]
    public async Task Three_nodes_with_the_same_source_read_the_device_once_serve_it_everywhere_and_hand_it_on_when_its_owner_stops()
    {
        var nodes = new Dictionary<string, WattstreamHost>(StringComparer.Ordinal);
        foreach (var name in new[] { "node-a", "node-b", "node-c" })
        {
            nodes[name] = await _nodes.StartAsync(name);
        }

        var owner = await AgreedOwnerAsync([.. nodes.Values.Select(n => n.Client)], "CONNECTED", nodes.ContainsKey, TimeSpan.FromSeconds(30), "every node names one owner, connected, with its counters");
        // Nodes start one by one, so the source may still be moving to its final owner (a later node claims it):
        // asked again until the owner every node names is the one node that runs it.
        await Eventually.UntilAsync(
            async () =>
            {
                owner = await AgreedOwnerAsync([.. nodes.Values.Select(n => n.Client)], "CONNECTED", nodes.ContainsKey, TimeSpan.FromSeconds(30), "every node names one owner, connected, with its counters");
                return nodes.All(n => (n.Key == owner) == n.Value.Service<SourceHost>().Runs("meter"));
            },
            "the named owner is the one node that runs the source",
            TimeSpan.FromSeconds(30));
        // A source counts on its owner's /metrics only: the nodes' sum is the cluster's.
        foreach (var (name, node) in nodes)
        {
            var metrics = await node.Client.GetStringAsync("/metrics");
            Assert.Equal(name == owner, metrics.Contains("wattstream_sources{status=\"CONNECTED\"} 1", StringComparison.Ordinal));
            Assert.Equal(name == owner, metrics.Contains("wattstream_sources{", StringComparison.Ordinal));
        }

        // Every node serves the device's readings (from the cluster's stream), whichever node reads it.
        var streams = nodes.Values.Select(n => SseClient.ReadAsync(n.Client, "/stream/sites/home", 3, TimeSpan.FromSeconds(20))).ToArray();
        Assert.All(await Task.WhenAll(streams), items => Assert.Equal(3, items.Count));

        // One live client all along: a second would have taken the stream from the first.
        Assert.Equal(1, _device.ConnectedClients);
        Assert.Equal(0, _device.Takeovers);

        // The owner stops as a service stop does: the source moves to one of the others, which reads the device alone.
        var stopped = nodes[owner];
        nodes.Remove(owner);
        await stopped.DisposeAsync();
        var clients = nodes.Values.Select(n => n.Client).ToArray();
        var next = await AgreedOwnerAsync(clients, "CONNECTED", nodes.ContainsKey, 2 * LeaseTtl + TimeSpan.FromSeconds(10), "the others name a new owner, connected");
        Assert.NotEqual(owner, next);
        await Eventually.UntilAsync(() => _device.ConnectedClients == 1, "the device has one client again");
        Assert.Equal(0, _device.Takeovers);
        var after = await Task.WhenAll(nodes.Values.Select(n => SseClient.ReadAsync(n.Client, "/stream/sites/home", 2, TimeSpan.FromSeconds(20))));
        Assert.All(after, items => Assert.Equal(2, items.Count));

        // The device goes away: the owner's source is down, and so is the meter on every node — the node that does
        // not run the source follows the owner (by readings alone it would stay CONNECTED until the 60 s stale sweep).
        await StopDeviceAsync();
        await AgreedOwnerAsync(clients, "DISCONNECTED", next.Equals, TimeSpan.FromSeconds(20), "every node shows the owner's source down");
        await Eventually.UntilAsync(
            () => nodes.Values.All(n => MeterStatus(n)?.Status == ConnectionStatus.Disconnected),
            "the meter is DISCONNECTED on every node");
        var follower = nodes.Single(n => n.Key != next).Value;
        Assert.False(follower.Service<SourceHost>().Runs("meter"));
    }

    [Fact]
    public async Task A_single_node_runs_its_source_from_start_to_stop_and_names_itself_local()
    {
        await using (var node = await WattstreamHost.StartAsync([.. _nodes.Settings("node-a").Where(s => !s.StartsWith("--Nats:", StringComparison.Ordinal))]))
        {
            Assert.Equal("local", await AgreedOwnerAsync([node.Client], "CONNECTED", _ => true, TimeSpan.FromSeconds(20), "the source connected, owned by the node itself"));
            Assert.True(node.Service<SourceHost>().Runs("meter"));
            Assert.Equal(1, _device.ConnectedClients);
        }

        await Eventually.UntilAsync(() => _device.ConnectedClients == 0, "the source disconnected when the node stopped");
    }

    [Fact]
    public async Task A_killed_owner_process_loses_its_source_to_another_node_within_two_lease_ttls()
    {
        var hubs = new Dictionary<string, RunningHub>(StringComparer.Ordinal);
        foreach (var name in new[] { "node-a", "node-b" })
        {
            hubs[name] = await _nodes.StartProcessAsync(name);
        }

        var owner = await AgreedOwnerAsync([.. hubs.Values.Select(h => h.Client)], "CONNECTED", hubs.ContainsKey, TimeSpan.FromSeconds(30), "both nodes name one owner, connected");
        Assert.Equal(0, _device.Takeovers);

        // kill -9: nothing of the owner's shutdown runs; its lease lapses within a TTL and the other node takes it.
        await hubs[owner].KillAsync();
        var survivor = hubs.Single(h => h.Key != owner);
        var next = await AgreedOwnerAsync([survivor.Value.Client], "CONNECTED", survivor.Key.Equals, 2 * LeaseTtl + TimeSpan.FromSeconds(3), "the survivor owns the source and is connected");
        Assert.Equal(survivor.Key, next);
        await Eventually.UntilAsync(() => _device.ConnectedClients == 1, "the device has one client again");
        Assert.Equal(0, _device.Takeovers);
    }
}
