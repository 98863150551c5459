using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Wattstream.Server.Nats;

namespace Wattstream.Server.Tests;

/// <summary>
/// Shared configuration in cluster mode, on hub nodes over one real nats-server: API keys and the API's alert rules
/// live in KV buckets, so what is made or revoked on one node holds on every node (an open stream of a key revoked
/// elsewhere ends too), per-org rule limits count the whole cluster, and a node's own keys and rules from before cluster
/// mode are imported once.
/// </summary>
public sealed class ClusterConfigurationTests : IAsyncLifetime
{
    // A bounded wait for a change to reach another node (it takes a KV watch's round trip: milliseconds).
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(10);

    private static readonly string Admin = AuthTests.Token("demo", scopes: "admin read");

    private NatsServer _nats = null!;
    private ClusterNodes _nodes = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _nodes = new ClusterNodes(_nats.Url, AuthTests.StartTokenHostAsync, "--Nats:LeaseTtl=00:00:03");
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private Task<WattstreamHost> StartNodeAsync(string name, params string[] settings) => _nodes.StartAsync(name, settings);

    private static async Task<(string Key, string Id)> CreateKeyAsync(WattstreamHost node)
    {
        using var request = AuthTests.Request(HttpMethod.Post, "/api/keys", Admin);
        request.Content = JsonContent.Create(new { name = "gateway", orgs = new[] { "demo" }, scopes = new[] { "read" } });
        using var created = await node.Client.SendAsync(request);
        var body = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, body);
        var json = JsonNode.Parse(body)!;
        return ((string)json["key"]!, (string)json["details"]!["id"]!);
    }

    private static async Task<HttpStatusCode> StatusAsync(WattstreamHost node, HttpMethod method, string path, string token, object? body = null)
    {
        using var request = AuthTests.Request(method, path, token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await node.Client.SendAsync(request);
        return response.StatusCode;
    }

    private static Task<HttpStatusCode> AlertsWithKeyAsync(WattstreamHost node, string key) => StatusAsync(node, HttpMethod.Get, "/api/alert-rules", key);

    private static async Task WaitForStatusAsync(WattstreamHost node, HttpMethod method, string path, string token, HttpStatusCode expected, string what) =>
        await Eventually.UntilAsync(async () => await StatusAsync(node, method, path, token) == expected, what, Propagation);

    [Fact]
    public async Task A_key_made_on_one_node_works_on_another_and_revoked_there_is_refused_everywhere_and_ends_its_open_streams()
    {
        await using var a = await StartNodeAsync("node-a", "--Simulation:Enabled=true");
        await using var b = await StartNodeAsync("node-b");
        var (key, id) = await CreateKeyAsync(a);

        // Node B knows the key without a word from node A, and lists it (its hash, never its secret).
        await WaitForStatusAsync(b, HttpMethod.Get, "/api/alert-rules", key, HttpStatusCode.OK, "node B to accept the key made on node A");
        using (var list = AuthTests.Request(HttpMethod.Get, "/api/keys", Admin))
        using (var listed = await b.Client.SendAsync(list))
        {
            var keys = await listed.Content.ReadAsStringAsync();
            Assert.Contains(id, keys, StringComparison.Ordinal);
            Assert.DoesNotContain(key[(key.LastIndexOf('_') + 1)..], keys, StringComparison.Ordinal);
        }

        // A stream opened with the key on node A, delivering.
        using var reading = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var sseClient = new HttpClient { BaseAddress = a.BaseAddress };
        using var sseResponse = await sseClient.GetAsync($"/stream/sites/site-1?access_token={key}", HttpCompletionOption.ResponseHeadersRead, reading.Token);
        Assert.Equal(HttpStatusCode.OK, sseResponse.StatusCode);
        var sseEvents = new List<SseItem<string>>();
        var sseStream = await sseResponse.Content.ReadAsStreamAsync(reading.Token);
        var sse = Task.Run(async () =>
        {
            await foreach (var item in SseParser.Create(sseStream).EnumerateAsync(reading.Token))
            {
                lock (sseEvents)
                {
                    sseEvents.Add(item);
                }
            }
        });
        await Eventually.UntilAsync(
            () =>
            {
                lock (sseEvents)
                {
                    return sseEvents.Count > 0;
                }
            },
            "the stream on node A to deliver");

        // And a /ws connection with a subscription, on node A too.
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new UriBuilder(new Uri(a.BaseAddress, "/ws")) { Scheme = "ws", Query = $"access_token={key}" }.Uri, reading.Token);
        await ws.SendAsync("""{"type":"subscribe","id":"all","subject":"orgs.demo.>"}"""u8.ToArray(), WebSocketMessageType.Text, true, reading.Token);
        var wsClosed = Task.Run(async () =>
        {
            var buffer = new byte[1 << 16];
            while ((await ws.ReceiveAsync(buffer, reading.Token)).MessageType != WebSocketMessageType.Close)
            {
            }
        });

        // Revoked on node B: node A's streams of it end with the revocation, and both nodes refuse it.
        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(b, HttpMethod.Delete, $"/api/keys/{id}", Admin));
        var ended = Task.WhenAll(sse, wsClosed);
        Assert.Same(ended, await Task.WhenAny(ended, Task.Delay(Propagation)));
        await ended;
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, ws.CloseStatus);
        Assert.Equal("auth", sseEvents[^1].EventType);
        Assert.Equal("credential_revoked", (string?)JsonNode.Parse(sseEvents[^1].Data)!["error"]);
        Assert.Equal(HttpStatusCode.Unauthorized, await AlertsWithKeyAsync(a, key));
        Assert.Equal(HttpStatusCode.Unauthorized, await AlertsWithKeyAsync(b, key));
        Assert.DoesNotContain(a.Service<SharedConfiguration>().ApiKeys!.Entries.Keys, k => k == id);
    }

    [Fact]
    public async Task A_rule_made_on_one_node_is_served_by_the_others_and_a_delete_there_reaches_it_back()
    {
        await using var a = await StartNodeAsync("node-a");
        await using var b = await StartNodeAsync("node-b");
        await using var c = await StartNodeAsync("node-c");

        Assert.Equal(
            HttpStatusCode.Created,
            await StatusAsync(a, HttpMethod.Post, "/api/alert-rules", Admin, new { id = "demo-lv", type = "low_voltage", org = "demo", threshold = 207 }));

        foreach (var node in new[] { b, c })
        {
            await WaitForStatusAsync(node, HttpMethod.Get, "/api/alert-rules/demo-lv", Admin, HttpStatusCode.OK, "every node to serve the rule made on node A");
        }

        var rule = JsonNode.Parse(await SendAsync(c, HttpMethod.Get, "/api/alert-rules/demo-lv"))!;
        Assert.Equal(207, (double)rule["threshold"]!);
        Assert.Equal("api", (string?)rule["source"]);
        // In force on node C: evaluation there has it among its rules.
        Assert.Contains(c.Service<Wattstream.Alerts.Rules.AlertRuleSet>().Compiled, r => r.Rule.Id == "demo-lv");

        // Changed on node C, deleted on node B: node A follows both.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(c, HttpMethod.Put, "/api/alert-rules/demo-lv", Admin, new { type = "low_voltage", org = "demo", threshold = 200 }));
        await Eventually.UntilAsync(
            async () => JsonNode.Parse(await SendAsync(a, HttpMethod.Get, "/api/alert-rules/demo-lv"))?["threshold"]?.GetValue<double>() == 200,
            "node A to see node C's change",
            Propagation);
        await WaitForStatusAsync(b, HttpMethod.Get, "/api/alert-rules/demo-lv", Admin, HttpStatusCode.OK, "node B to see the rule");
        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(b, HttpMethod.Delete, "/api/alert-rules/demo-lv", Admin));
        await WaitForStatusAsync(a, HttpMethod.Get, "/api/alert-rules/demo-lv", Admin, HttpStatusCode.NotFound, "node A to drop the rule deleted on node B");
        Assert.DoesNotContain(a.Service<Wattstream.Alerts.Rules.AlertRuleSet>().Compiled, r => r.Rule.Id == "demo-lv");
    }

    [Fact]
    public async Task The_per_org_rule_limit_counts_the_rules_made_on_every_node()
    {
        await using var a = await StartNodeAsync("node-a", "--Alerts:MaxRulesPerOrg=2");
        await using var b = await StartNodeAsync("node-b", "--Alerts:MaxRulesPerOrg=2");

        Assert.Equal(HttpStatusCode.Created, await StatusAsync(a, HttpMethod.Post, "/api/alert-rules", Admin, new { id = "demo-1", type = "low_voltage", org = "demo" }));
        Assert.Equal(HttpStatusCode.Created, await StatusAsync(a, HttpMethod.Post, "/api/alert-rules", Admin, new { id = "demo-2", type = "low_voltage", org = "demo" }));
        await WaitForStatusAsync(b, HttpMethod.Get, "/api/alert-rules/demo-2", Admin, HttpStatusCode.OK, "node B to see node A's rules");

        // Node B holds no rule of its own making, yet the org is at its limit.
        using var request = AuthTests.Request(HttpMethod.Post, "/api/alert-rules", Admin);
        request.Content = JsonContent.Create(new { id = "demo-3", type = "low_voltage", org = "demo" });
        using var refused = await b.Client.SendAsync(request);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("too_many_rules", (string?)problem["error"]);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(a, HttpMethod.Get, "/api/alert-rules/demo-3", Admin));
    }

    [Fact]
    public async Task The_per_org_key_limit_counts_the_keys_made_on_every_node()
    {
        await using var a = await StartNodeAsync("node-a", "--Auth:MaxKeysPerOrg=1");
        await using var b = await StartNodeAsync("node-b", "--Auth:MaxKeysPerOrg=1");
        var (key, _) = await CreateKeyAsync(a);
        await WaitForStatusAsync(b, HttpMethod.Get, "/api/alert-rules", key, HttpStatusCode.OK, "node B to know node A's key");

        using var request = AuthTests.Request(HttpMethod.Post, "/api/keys", Admin);
        request.Content = JsonContent.Create(new { name = "second", orgs = new[] { "demo" }, scopes = new[] { "read" } });
        using var refused = await b.Client.SendAsync(request);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("too_many_keys", (string?)problem["error"]);
        Assert.Single(a.Service<SharedConfiguration>().ApiKeys!.Entries);
    }

    [Fact]
    public async Task A_single_nodes_keys_and_rules_are_imported_into_an_empty_cluster_once_and_a_revoked_key_stays_revoked()
    {
        // A node as it ran alone: a key in api-keys.json and a rule in its SQLite store.
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-import-{Guid.NewGuid():N}");
        try
        {
            string key;
            string id;
            await using (var alone = await AuthTests.StartTokenHostAsync("--Simulation:Enabled=false", $"--Storage:DataDirectory={data}"))
            {
                (key, id) = await CreateKeyAsync(alone);
                Assert.Equal(HttpStatusCode.Created, await StatusAsync(alone, HttpMethod.Post, "/api/alert-rules", Admin, new { id = "demo-old", type = "low_voltage", org = "demo" }));
            }

            Assert.True(File.Exists(Path.Combine(data, Access.FileApiKeyStore.FileName)));

            // The same node in cluster mode brings both into the empty buckets; a new node honours them at once.
            var a = await StartNodeAsync("node-a", $"--Storage:DataDirectory={data}");
            try
            {
                await using var b = await StartNodeAsync("node-b");
                Assert.Equal(HttpStatusCode.OK, await AlertsWithKeyAsync(b, key));
                Assert.Equal(HttpStatusCode.OK, await StatusAsync(b, HttpMethod.Get, "/api/alert-rules/demo-old", Admin));
                Assert.Equal(HttpStatusCode.OK, await AlertsWithKeyAsync(a, key));

                // Revoked in the cluster; node A starts again with the same api-keys.json: the key is not brought back.
                Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(b, HttpMethod.Delete, $"/api/keys/{id}", Admin));
                await a.DisposeAsync();
                a = await StartNodeAsync("node-a", $"--Storage:DataDirectory={data}");
                Assert.Equal(HttpStatusCode.Unauthorized, await AlertsWithKeyAsync(a, key));
                Assert.Equal(HttpStatusCode.Unauthorized, await AlertsWithKeyAsync(b, key));
                Assert.Single(a.Service<SharedConfiguration>().AlertRules!.Entries);
            }
            finally
            {
                await a.DisposeAsync();
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public async Task While_nats_is_away_known_keys_keep_working_and_changes_are_503_and_afterwards_the_nodes_follow_again()
    {
        await using var a = await StartNodeAsync("node-a");
        await using var b = await StartNodeAsync("node-b");
        var (key, _) = await CreateKeyAsync(a);
        await WaitForStatusAsync(b, HttpMethod.Get, "/api/alert-rules", key, HttpStatusCode.OK, "node B to know node A's key");

        _nats.Stop();
        Assert.Equal(HttpStatusCode.OK, await AlertsWithKeyAsync(b, key)); // from node B's memory of the bucket
        using (var request = AuthTests.Request(HttpMethod.Post, "/api/keys", Admin))
        {
            request.Content = JsonContent.Create(new { name = "meanwhile", orgs = new[] { "demo" }, scopes = new[] { "read" } });
            using var refused = await a.Client.SendAsync(request);
            var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("nats_unavailable", (string?)problem["error"]);
        }

        // NATS back (on its store): a key made then reaches the other node through its watch, started again.
        await _nats.StartAgainAsync();
        string? later = null;
        await Eventually.UntilAsync(
            async () =>
            {
                using var request = AuthTests.Request(HttpMethod.Post, "/api/keys", Admin);
                request.Content = JsonContent.Create(new { name = "later", orgs = new[] { "demo" }, scopes = new[] { "read" } });
                using var response = await a.Client.SendAsync(request);
                later = response.StatusCode == HttpStatusCode.Created ? (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["key"] : null;
                return later is not null;
            },
            "node A to make keys again",
            TimeSpan.FromSeconds(30));
        await WaitForStatusAsync(b, HttpMethod.Get, "/api/alert-rules", later!, HttpStatusCode.OK, "node B to know the key made after NATS came back");
    }

    [Fact]
    public async Task Without_cluster_mode_keys_stay_in_the_file_and_no_configuration_bucket_is_made()
    {
        await using var node = await AuthTests.StartTokenHostAsync("--Simulation:Enabled=false", $"--Nats:Url={_nats.Url}", "--Nats:ConnectTimeout=00:00:10");
        await CreateKeyAsync(node);

        Assert.IsType<Access.FileApiKeyStore>(node.Service<Access.IApiKeyStore>());
        Assert.Null(node.Service<SharedConfiguration>());
        await using var client = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = _nats.Url });
        var buckets = new List<string>();
        await foreach (var bucket in new NATS.Client.KeyValueStore.NatsKVContext(new NATS.Client.JetStream.NatsJSContext(client)).GetBucketNamesAsync())
        {
            buckets.Add(bucket);
        }

        Assert.DoesNotContain(SharedConfiguration.ApiKeysBucket, buckets);
        Assert.DoesNotContain(SharedConfiguration.AlertRulesBucket, buckets);
    }

    private static async Task<string> SendAsync(WattstreamHost node, HttpMethod method, string path)
    {
        using var request = AuthTests.Request(method, path, Admin);
        using var response = await node.Client.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }
}
