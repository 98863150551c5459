using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Wattstream.Nats.Cluster;

namespace Wattstream.Server.Tests;

/// <summary>
/// Cluster membership and job ownership on two real hub nodes over a real nats-server: <c>/api/cluster</c> lists the
/// nodes and the jobs each holds a lease for, the <c>wattstream_cluster_*</c> metrics count them, and a node stopping
/// gracefully hands its jobs on. (No hub job uses the leases yet; the tests register their own.)
/// </summary>
public sealed class ClusterMembershipTests : IAsyncLifetime
{
    private NatsServer _nats = null!;
    private ClusterNodes _nodes = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _nodes = new ClusterNodes(_nats.Url, "--Nats:LeaseTtl=00:00:03");
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private Task<WattstreamHost> StartNodeAsync(string name, params string[] settings) => _nodes.StartAsync(name, settings);

    private static async Task<JsonNode> ClusterAsync(WattstreamHost node)
    {
        using var response = await node.Client.GetAsync("/api/cluster");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!;
    }

    // The test's own jobs (the hub's own, such as publish:status, move about as nodes join and are left out).
    private static Dictionary<string, string[]> JobsByNode(JsonNode cluster) => cluster["nodes"]!.AsArray()
        .Where(n => (string?)n!["state"] == "up")
        .ToDictionary(n => (string)n!["id"]!, n => n!["jobs"]!.AsArray().Select(j => (string)j!).Where(Jobs.Contains).ToArray());

    private static readonly string[] Jobs = ["source:meter-1", "source:meter-2", "site:acme/plant", "site:acme/depot", "site:beta/barn"];

    private static async Task<List<IAsyncDisposable>> RegisterAsync(WattstreamHost node)
    {
        var leases = node.Service<ClusterNode>().Coordinator!.Leases;
        var registrations = new List<IAsyncDisposable>();
        foreach (var job in Jobs)
        {
            registrations.Add(await leases.RunWhileOwnedAsync(job, token => Task.Delay(Timeout.Infinite, token)));
        }

        return registrations;
    }

    [Fact]
    public async Task Api_cluster_lists_both_nodes_and_the_jobs_each_owns_and_a_stopping_node_hands_its_jobs_on()
    {
        await using var a = await StartNodeAsync("node-a");
        var b = await StartNodeAsync("node-b");
        var bStopped = false;
        try
        {
            await RegisterAsync(a);
            await RegisterAsync(b);
            var expected = Jobs.GroupBy(j => Rendezvous.Owner(j, ["node-a", "node-b"])!).ToDictionary(g => g.Key, g => g.Order(StringComparer.Ordinal).ToArray());
            Dictionary<string, string[]> seen = [];
            await Eventually.UntilAsync(
                async () =>
                {
                    seen = JobsByNode(await ClusterAsync(b));
                    return seen.Count == 2 && expected.All(e => seen.TryGetValue(e.Key, out var jobs) && jobs.SequenceEqual(e.Value));
                },
                "node B sees both nodes, each with its share of the jobs");

            var fromA = await ClusterAsync(a);
            Assert.Equal("node-a", (string?)fromA["node"]);
            Assert.Equal("00:00:03", (string?)fromA["leaseTtl"]);
            Assert.Equal(seen.Keys.Order(), JobsByNode(fromA).Keys.Order());
            Assert.All(fromA["nodes"]!.AsArray(), n => Assert.NotNull((string?)n!["lastHeartbeat"]));
            var leases = a.Service<ClusterNode>().Coordinator!.Leases;
            string[] hubJobs = [Wattstream.Nats.NatsPublisher.PublishJob("status"), Wattstream.Nats.NatsPublisher.PublishJob("summary")];
            var shareOfA = Jobs.Concat(hubJobs).Where(j => Rendezvous.Owner(j, ["node-a", "node-b"]) == "node-a").Order(StringComparer.Ordinal).ToArray();
            await Eventually.UntilAsync(() => leases.Owned.SequenceEqual(shareOfA), "node A holds its share of every job, the hub's own too: nothing moves any more");
            var owned = leases.Owned;
            Assert.Equal(expected.GetValueOrDefault("node-a") ?? [], owned.Where(Jobs.Contains));
            var metrics = await a.Client.GetStringAsync("/metrics");
            Assert.Contains("wattstream_cluster_nodes 2", metrics, StringComparison.Ordinal);
            Assert.Contains($"wattstream_cluster_jobs_owned {owned.Count}", metrics, StringComparison.Ordinal);
            Assert.Contains($"wattstream_cluster_job_moves_total {leases.Moves}", metrics, StringComparison.Ordinal);
            Assert.True(leases.Moves >= owned.Count(Jobs.Contains));

            // Node B stops (as a service stop does): it leaves the list and its jobs go to node A.
            bStopped = true;
            await b.DisposeAsync();
            await Eventually.UntilAsync(
                async () =>
                {
                    var left = JobsByNode(await ClusterAsync(a));
                    return left.Count == 1 && left["node-a"].Order(StringComparer.Ordinal).SequenceEqual(Jobs.Order(StringComparer.Ordinal));
                },
                "node A alone, owning every job");
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
    public async Task Api_cluster_is_for_hub_admins_only()
    {
        await using var node = await StartNodeAsync("node-a", "--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}");

        async Task<HttpStatusCode> GetAsync(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/cluster");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await node.Client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(AuthTests.Token("acme", scopes: "admin")));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(AuthTests.Token(scopes: "read publish")));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(AuthTests.Token("*", scopes: "admin")));
    }

    [Fact]
    public async Task Without_cluster_mode_api_cluster_is_404_cluster_off_and_no_bucket_is_made()
    {
        await using var node = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={_nats.Url}", "--Nats:ConnectTimeout=00:00:10");
        using var response = await node.Client.GetAsync("/api/cluster");
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("cluster_off", (string?)problem["error"]);
        await using var client = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = _nats.Url });
        var buckets = new List<string>();
        await foreach (var bucket in new NATS.Client.KeyValueStore.NatsKVContext(new NATS.Client.JetStream.NatsJSContext(client)).GetBucketNamesAsync())
        {
            buckets.Add(bucket);
        }

        Assert.Empty(buckets);
    }

    [Fact]
    public async Task A_lease_ttl_out_of_range_is_refused_at_start()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => StartNodeAsync("node-a", "--Nats:LeaseTtl=00:00:00.200"));

        Assert.Contains("LeaseTtl", failure.Message, StringComparison.Ordinal);
    }
}
