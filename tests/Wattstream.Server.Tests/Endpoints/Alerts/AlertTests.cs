using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Wattstream.Emulators.Whatwatt;

namespace Wattstream.Server.Tests;

/// <summary>
/// Alerts end to end on a real host: rules through the API and configuration, scenarios driven by the push API, the
/// simulator and the whatwatt emulator, delivery on SSE, <c>/ws</c> and the REST list, access per org.
/// </summary>
public class AlertTests
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static string MeterReading(string org, string site, long timestamp, double l1Volts, double watts = 800) =>
        $$"""{"org":"{{org}}","site":"{{site}}","device":"gw","der":"m1","type":"meter","timestamp":{{timestamp}},"W":{{watts}},"L1_V":{{l1Volts}},"L2_V":230.1,"L3_V":229.8}""";

    private static async Task PushAsync(WattstreamHost host, params string[] readings)
    {
        using var response = await host.Client.PostAsync("/api/readings", new StringContent(string.Join('\n', readings), Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    internal static async Task<HttpResponseMessage> SendJsonAsync(HttpClient client, HttpMethod method, string path, string json, string? token = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await client.SendAsync(request);
    }

    /// <summary>Opens an alert stream and returns once its headers are in, so nothing raised afterwards is missed.</summary>
    internal static async Task<Task<List<SseItem<string>>>> OpenAlertStreamAsync(HttpClient client, int count, string path = "/api/alerts/stream", string? lastEventId = null, string? token = null)
    {
        var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        response.EnsureSuccessStatusCode();
        return ReadAsync();

        async Task<List<SseItem<string>>> ReadAsync()
        {
            using (cts)
            using (request)
            using (response)
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
                var items = new List<SseItem<string>>();
                await foreach (var item in SseParser.Create(stream).EnumerateAsync(cts.Token))
                {
                    items.Add(item);
                    if (items.Count == count)
                    {
                        break;
                    }
                }

                return items;
            }
        }
    }

    [Fact]
    public async Task A_pushed_low_voltage_episode_fires_once_resolves_once_and_reaches_sse_ws_and_the_list_once_each()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false");
        using (var created = await SendJsonAsync(host.Client, HttpMethod.Post, "/api/alert-rules", """{"id":"lv","type":"low_voltage","org":"acme","threshold":220,"hysteresis":3}"""))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal("/api/alert-rules/lv", created.Headers.Location?.OriginalString);
        }

        var sse = await OpenAlertStreamAsync(host.Client, 2);
        await using var ws = await WebSocketClient.ConnectAsync(host, "/ws");
        await ws.ReceiveJsonAsync(); // hello
        await ws.SendAsync("""{"type":"subscribe","id":"a","kind":"alerts","subject":"orgs.acme.>"}""");
        Assert.Equal("alerts", (string?)(await ws.ReceiveJsonAsync())["kind"]);

        // 230, then a dip that flaps within the hysteresis (219/221/218/222), then back to 229.
        var t = Now - 60_000;
        await PushAsync(host, [.. new[] { 230.0, 219, 221, 218, 222, 229 }.Select((v, i) => MeterReading("acme", "home", t + (i * 1000), v))]);

        var events = await sse.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.All(events, e => Assert.Equal("alert", e.EventType));
        var firing = JsonNode.Parse(events[0].Data)!;
        var resolved = JsonNode.Parse(events[1].Data)!;
        Assert.Equal("firing/resolved", $"{firing["state"]}/{resolved["state"]}");
        Assert.Equal("low_voltage", (string?)firing["type"]);
        Assert.Equal("lv", (string?)firing["rule"]);
        Assert.Equal("home", (string?)firing["site"]);
        Assert.Equal("m1", (string?)firing["der"]);
        Assert.Equal(219, (double)firing["value"]!);
        Assert.Equal(220, (double)firing["threshold"]!);
        Assert.Equal(219, (double)firing["data"]!["L1_V"]!); // the reading that triggered it
        Assert.Equal(t + 1000, (long)firing["data"]!["timestamp"]!);
        Assert.Equal((long)firing["id"]!, long.Parse(events[0].EventId!, System.Globalization.CultureInfo.InvariantCulture));

        var wsAlerts = new[] { await ws.ReceiveUntilAsync(m => (string?)m["type"] == "alert"), await ws.ReceiveUntilAsync(m => (string?)m["type"] == "alert") };
        Assert.Equal(["firing", "resolved"], wsAlerts.Select(m => (string?)m["data"]!["state"]));
        Assert.Equal("orgs.acme.sites.home.alerts.json.v1", (string?)wsAlerts[0]["subject"]);
        Assert.Equal(events[0].Data, wsAlerts[0]["data"]!.ToJsonString()); // the same bytes on both transports

        var list = JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts"))!["alerts"]!.AsArray();
        Assert.Equal(["resolved", "firing"], list.Select(a => (string?)a!["state"])); // newest first, once each
        Assert.Single(JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts?state=firing&site=home"))!["alerts"]!.AsArray());
        Assert.Empty(JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/active"))!["alerts"]!.AsArray());
        var csv = await host.Client.GetStringAsync("/api/alerts?format=csv");
        Assert.StartsWith("id,timestamp,rule,type,state,org,site,device,der,value,threshold,message\n", csv, StringComparison.Ordinal);
        Assert.Contains(",lv,low_voltage,firing,acme,home,gw,m1,219,220,", csv, StringComparison.Ordinal);

        // Resumed after the firing alert: the resolution, and nothing else.
        var resumed = await OpenAlertStreamAsync(host.Client, 1, lastEventId: events[0].EventId);
        Assert.Equal(events[1].Data, (await resumed.WaitAsync(TimeSpan.FromSeconds(10)))[0].Data);

        // A second dip within five minutes of the first notification: kept quiet, and counted.
        await PushAsync(host, MeterReading("acme", "home", t + 10_000, 210), MeterReading("acme", "home", t + 11_000, 229));
        await Eventually.UntilAsync(async () => (long)JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/stats"))!["suppressed"]! == 1, "the repeat is counted");
        Assert.Equal(2, JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts"))!["alerts"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_silent_meter_fires_stale_and_resolves_when_it_reports_again()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", "--Alerts:SweepInterval=00:00:00.100",
            "--Alerts:Rules:0:Id=quiet", "--Alerts:Rules:0:Type=stale", "--Alerts:Rules:0:Org=acme", "--Alerts:Rules:0:Threshold=1");
        var sse = await OpenAlertStreamAsync(host.Client, 2);
        await PushAsync(host, MeterReading("acme", "home", Now, 230));
        await Eventually.UntilAsync(async () => JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/active"))!["alerts"]!.AsArray().Count == 1, "stale fires", TimeSpan.FromSeconds(10));

        await PushAsync(host, MeterReading("acme", "home", Now, 230));
        var events = await sse.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(["stale:firing", "stale:resolved"], events.Select(e => JsonNode.Parse(e.Data)!).Select(a => $"{a["type"]}:{a["state"]}"));
        Assert.True((double)JsonNode.Parse(events[0].Data)!["value"]! >= 1);
        var rule = JsonNode.Parse(await host.Client.GetStringAsync("/api/alert-rules/quiet"))!;
        Assert.Equal("config", (string?)rule["source"]);
        using var put = await SendJsonAsync(host.Client, HttpMethod.Put, "/api/alert-rules/quiet", """{"type":"stale","org":"acme","threshold":5}""");
        Assert.Equal(HttpStatusCode.Conflict, put.StatusCode); // configuration's rules are read-only here
    }

    [Fact]
    public async Task A_refused_password_at_the_whatwatt_emulator_fires_source_down()
    {
        await using var emulator = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = 0, Password = "right-pw-123", Interval = TimeSpan.FromSeconds(1), Seed = 5 }, _ => { });
        await emulator.StartAsync();
        await using var host = await WattstreamHost.StartAsync(
            "--Sources:0:Id=home", "--Sources:0:Kind=Whatwatt", $"--Sources:0:Url={emulator.BaseAddress}", "--Sources:0:Password=wrong-pw-456",
            "--Sources:0:Org=acme", "--Sources:0:Site=home", "--Sources:0:Der=99900011199",
            "--Alerts:Rules:0:Id=down", "--Alerts:Rules:0:Type=source_down", "--Alerts:Rules:0:Org=acme");
        var sse = await OpenAlertStreamAsync(host.Client, 1, lastEventId: "0"); // from the first alert: it may come before the stream opens

        var alert = JsonNode.Parse((await sse.WaitAsync(TimeSpan.FromSeconds(20)))[0].Data)!;
        Assert.Equal("source_down", (string?)alert["type"]);
        Assert.Equal("firing", (string?)alert["state"]);
        Assert.Equal("99900011199", (string?)alert["der"]);
        Assert.Contains("AUTH_FAILED", (string?)alert["message"], StringComparison.Ordinal);
        Assert.DoesNotContain("pw-", alert.ToJsonString(), StringComparison.Ordinal); // no password in the alert
    }

    [Fact]
    public async Task The_simulator_feeds_rules_and_the_example_set_is_listed()
    {
        await using var host = await WattstreamHost.StartAsync(
            "--Alerts:Rules:0:Id=any-battery", "--Alerts:Rules:0:Type=threshold", "--Alerts:Rules:0:Org=demo", "--Alerts:Rules:0:Site=site-2",
            "--Alerts:Rules:0:Field=SoC_nom_fract", "--Alerts:Rules:0:Operator=>=", "--Alerts:Rules:0:Threshold=0");
        await Eventually.UntilAsync(async () => JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/active"))!["alerts"]!.AsArray().Count > 0, "the simulated battery's rule fires");

        var active = JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/active"))!["alerts"]!.AsArray();
        var alert = Assert.Single(active)!;
        Assert.Equal("site-2", (string?)alert["site"]);
        Assert.Equal("battery", (string?)alert["data"]!["type"]);
        var rules = JsonNode.Parse(await host.Client.GetStringAsync("/api/alert-rules"))!["rules"]!.AsArray();
        Assert.Contains(rules, r => (string?)r!["id"] == "example-low-voltage" && (string?)r["source"] == "example" && (double)r["threshold"]! == 220);
        Assert.Contains(rules, r => (string?)r!["id"] == "example-high-consumption" && (double)r["threshold"]! == 5 && (double)r["repeatSeconds"]! == 300);
    }

    [Fact]
    public async Task Rules_are_validated_by_field_persisted_and_in_force_without_a_restart()
    {
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-alert-rules-{Guid.NewGuid():N}");
        try
        {
            await using (var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Storage:DataDirectory={data}"))
            {
                async Task<JsonNode> Problem(HttpMethod method, string path, string body, HttpStatusCode status)
                {
                    using var response = await SendJsonAsync(host.Client, method, path, body);
                    Assert.Equal(status, response.StatusCode);
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                }

                var invalid = await Problem(HttpMethod.Post, "/api/alert-rules", """{"id":"sun","type":"solar_drop","org":"acme","threshold":1.5,"latitude":47}""", HttpStatusCode.BadRequest);
                Assert.Equal("invalid_rule", (string?)invalid["error"]);
                Assert.Equal(["longitude", "threshold"], invalid["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal));
                var typo = await Problem(HttpMethod.Post, "/api/alert-rules", """{"id":"hc","type":"high_consumption","org":"acme","treshold":3}""", HttpStatusCode.BadRequest);
                Assert.Contains("treshold", typo.ToJsonString(), StringComparison.Ordinal);
                await Problem(HttpMethod.Post, "/api/alert-rules", "{not json", HttpStatusCode.BadRequest);

                using (var ok = await SendJsonAsync(host.Client, HttpMethod.Post, "/api/alert-rules", """{"id":"hc","type":"high_consumption","org":"acme","threshold":3}"""))
                {
                    Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
                }

                await Problem(HttpMethod.Post, "/api/alert-rules", """{"id":"hc","type":"high_consumption","org":"acme"}""", HttpStatusCode.Conflict);
                await Problem(HttpMethod.Put, "/api/alert-rules/hc", """{"id":"other","type":"high_consumption","org":"acme"}""", HttpStatusCode.BadRequest);

                // In force at once: 4 kW is above 3 kW.
                await PushAsync(host, MeterReading("acme", "home", Now - 5000, 230, watts: 4000));
                await Eventually.UntilAsync(async () => JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/active"))!["alerts"]!.AsArray().Count == 1, "the new rule fires");

                // Raised to 6 kW: the rule changed, so its firing alert resolves.
                using (var put = await SendJsonAsync(host.Client, HttpMethod.Put, "/api/alert-rules/hc", """{"type":"high_consumption","org":"acme","threshold":6}"""))
                {
                    Assert.Equal(HttpStatusCode.OK, put.StatusCode);
                    Assert.Equal(6, (double)JsonNode.Parse(await put.Content.ReadAsStringAsync())!["threshold"]!);
                }

                await Eventually.UntilAsync(async () => JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/active"))!["alerts"]!.AsArray().Count == 0, "the changed rule's alert resolves");
                await PushAsync(host, MeterReading("acme", "home", Now - 4000, 230, watts: 4000));
                await Task.Delay(300);
                Assert.Empty(JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/active"))!["alerts"]!.AsArray());
            }

            // A restart keeps the API's rules (in the same SQLite file as history).
            await using (var again = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Storage:DataDirectory={data}"))
            {
                var rule = JsonNode.Parse(await again.Client.GetStringAsync("/api/alert-rules/hc"))!;
                Assert.Equal(6, (double)rule["threshold"]!);
                Assert.Equal("api", (string?)rule["source"]);
                Assert.Equal(2, JsonNode.Parse(await again.Client.GetStringAsync("/api/alerts"))!["alerts"]!.AsArray().Count); // and the alerts
                using var deleted = await again.Client.DeleteAsync("/api/alert-rules/hc");
                Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
                using var gone = await again.Client.DeleteAsync("/api/alert-rules/hc");
                Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
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
    public async Task Reported_alerts_in_the_seeds_shape_are_stored_and_fanned_out()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false");
        await PushAsync(host, MeterReading("acme", "home", Now, 230));
        var sse = await OpenAlertStreamAsync(host.Client, 1);

        // What the seed's PowerAlert posts, with the site in the query.
        using var response = await SendJsonAsync(host.Client, HttpMethod.Post, "/api/alerts?site=home",
            """{"type":"high_consumption","message":"High power consumption: 6.20 kW","timestamp":"2026-11-24T07:00:00.000Z","data":{"P_In":6.2,"V_P1":229}}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("acme", (string?)created["org"]); // the only org with that site
        Assert.Equal("reported", (string?)created["rule"]);
        Assert.Equal(6.2, (double)created["data"]!["P_In"]!);
        Assert.Equal("2026-11-24T07:00:00.000Z", (string?)created["timestamp"]);
        Assert.Equal(created.ToJsonString(), JsonNode.Parse((await sse.WaitAsync(TimeSpan.FromSeconds(10)))[0].Data)!.ToJsonString());

        using var bad = await SendJsonAsync(host.Client, HttpMethod.Post, "/api/alerts", """{"message":"no type, no site"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = JsonNode.Parse(await bad.Content.ReadAsStringAsync())!;
        Assert.Equal(["site", "type"], problem["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal));
        using var badStream = await host.Client.GetAsync("/api/alerts/stream?state=burning");
        Assert.Equal(HttpStatusCode.BadRequest, badStream.StatusCode);
    }

    [Fact]
    public async Task Callers_see_and_manage_only_their_orgs_alerts_and_rules()
    {
        await using var host = await AuthTests.StartTokenHostAsync("--Simulation:Enabled=false");
        var admin = AuthTests.Token(orgs: "*", scopes: "read publish admin");
        var acmeAdmin = AuthTests.Token(orgs: "acme", scopes: "read publish admin");
        var acmeReader = AuthTests.Token(orgs: "acme", scopes: "read");
        var globexPublisher = AuthTests.Token(orgs: "globex", scopes: "read publish");
        using (var push = await SendJsonAsync(host.Client, HttpMethod.Post, "/api/readings", MeterReading("acme", "home", Now, 230), admin))
        {
            Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        }

        using (var push = await SendJsonAsync(host.Client, HttpMethod.Post, "/api/readings", MeterReading("globex", "plant", Now, 230), admin))
        {
            Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        }

        async Task<HttpStatusCode> Status(HttpMethod method, string path, string body, string token)
        {
            using var response = await SendJsonAsync(host.Client, method, path, body, token);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Created, await Status(HttpMethod.Post, "/api/alert-rules", """{"id":"acme-lv","type":"low_voltage","org":"acme"}""", acmeAdmin));
        Assert.Equal(HttpStatusCode.Forbidden, await Status(HttpMethod.Post, "/api/alert-rules", """{"id":"globex-lv","type":"low_voltage","org":"globex"}""", acmeAdmin));
        Assert.Equal(HttpStatusCode.Forbidden, await Status(HttpMethod.Post, "/api/alert-rules", """{"id":"all-lv","type":"low_voltage"}""", acmeAdmin));
        Assert.Equal(HttpStatusCode.Forbidden, await Status(HttpMethod.Post, "/api/alert-rules", """{"id":"r","type":"low_voltage","org":"acme"}""", acmeReader));
        Assert.Equal(HttpStatusCode.Created, await Status(HttpMethod.Post, "/api/alert-rules", """{"id":"globex-hc","type":"high_consumption","org":"globex"}""", admin));
        Assert.Equal(HttpStatusCode.NotFound, await Status(HttpMethod.Delete, "/api/alert-rules/globex-hc", "", acmeAdmin)); // not even told it exists

        var acmeStream = await OpenAlertStreamAsync(host.Client, 1, token: acmeReader);
        Assert.Equal(HttpStatusCode.Created, await Status(HttpMethod.Post, "/api/alerts", """{"type":"x","message":"globex's","site":"plant"}""", globexPublisher));
        Assert.Equal(HttpStatusCode.Forbidden, await Status(HttpMethod.Post, "/api/alerts", """{"type":"x","message":"not globex's to say","site":"home","org":"acme"}""", globexPublisher));
        Assert.Equal(HttpStatusCode.Created, await Status(HttpMethod.Post, "/api/alerts", """{"type":"x","message":"acme's","site":"home"}""", acmeAdmin));

        var seen = JsonNode.Parse((await acmeStream.WaitAsync(TimeSpan.FromSeconds(10)))[0].Data)!;
        Assert.Equal("acme's", (string?)seen["message"]); // globex's alert came first and was not shown
        using var list = new HttpRequestMessage(HttpMethod.Get, "/api/alerts");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", acmeReader);
        using var listed = await host.Client.SendAsync(list);
        var alerts = JsonNode.Parse(await listed.Content.ReadAsStringAsync())!["alerts"]!.AsArray();
        Assert.Equal(["acme"], alerts.Select(a => (string?)a!["org"]).Distinct());
        using var rules = new HttpRequestMessage(HttpMethod.Get, "/api/alert-rules");
        rules.Headers.Authorization = new AuthenticationHeaderValue("Bearer", acmeReader);
        using var ruleList = await host.Client.SendAsync(rules);
        Assert.Equal(["acme-lv"], JsonNode.Parse(await ruleList.Content.ReadAsStringAsync())!["rules"]!.AsArray().Select(r => (string?)r!["id"]));
        using var deliveries = new HttpRequestMessage(HttpMethod.Get, "/api/alerts/deliveries");
        deliveries.Headers.Authorization = new AuthenticationHeaderValue("Bearer", acmeAdmin);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client.SendAsync(deliveries)).StatusCode); // webhooks are the hub admin's
    }
    [Fact]
    public async Task Webhooks_get_signed_posts_and_a_failing_receiver_gets_retries_then_a_dead_letter()
    {
        const string secret = "whsec-test-0123456789";
        var received = new System.Collections.Concurrent.ConcurrentQueue<(string Body, bool Valid, string? AlertId)>();
        var failures = 0;
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (Microsoft.AspNetCore.Http.HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var valid = Wattstream.Alerts.Webhooks.WebhookSignature.Verify(
                secret,
                context.Request.Headers["Wattstream-Timestamp"],
                context.Request.Headers["Wattstream-Signature"],
                Encoding.UTF8.GetBytes(body),
                DateTimeOffset.UtcNow,
                TimeSpan.FromMinutes(5));
            received.Enqueue((body, valid, context.Request.Headers["Wattstream-Alert-Id"]));
            return Microsoft.AspNetCore.Http.Results.Ok();
        });
        receiver.MapPost("/broken", () =>
        {
            Interlocked.Increment(ref failures);
            return Microsoft.AspNetCore.Http.Results.StatusCode(503);
        });
        await receiver.StartAsync();
        var url = receiver.Urls.Single();

        await using var host = await WattstreamHost.StartAsync(
            "--Simulation:Enabled=false",
            $"--Alerts:Webhooks:0:Url={url}/hook?token=kept-out-of-sight", $"--Alerts:Webhooks:0:Secret={secret}", "--Alerts:Webhooks:0:Name=ops",
            $"--Alerts:Webhooks:1:Url={url}/broken", $"--Alerts:Webhooks:1:Secret={secret}", "--Alerts:Webhooks:1:Org=acme",
            "--Alerts:WebhookDelivery:MaxAttempts=3", "--Alerts:WebhookDelivery:RetryDelay=00:00:00.020");
        await PushAsync(host, MeterReading("acme", "home", Now, 230));
        using var response = await SendJsonAsync(host.Client, HttpMethod.Post, "/api/alerts?site=home", """{"type":"high_consumption","message":"6.2 kW","data":{"P_In":6.2}}""");
        var alert = await response.Content.ReadAsStringAsync();

        await Eventually.UntilAsync(() => Task.FromResult(!received.IsEmpty), "the webhook is called");
        var (body, valid, alertId) = Assert.Single(received);
        Assert.True(valid, "the signature verifies");
        Assert.Equal(alert, body); // the alert's own JSON
        Assert.Equal((string?)JsonNode.Parse(alert)!["id"]!.ToString(), alertId);

        await Eventually.UntilAsync(async () => JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/deliveries"))!["deadLetters"]!.AsArray().Count == 1, "the failing receiver's dead letter");
        Assert.Equal(3, Volatile.Read(ref failures)); // three attempts, then given up
        var deliveries = JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts/deliveries"))!;
        var dead = deliveries["deadLetters"]![0]!;
        Assert.Equal(3, (int)dead["attempts"]!);
        Assert.Equal(503, (int)dead["status"]!);
        Assert.Equal((long)JsonNode.Parse(alert)!["id"]!, (long)dead["alertId"]!);
        var hooks = deliveries["webhooks"]!.AsArray();
        Assert.Equal(1, (long)hooks[0]!["delivered"]!);
        Assert.Equal(1, (long)hooks[1]!["failed"]!);
        Assert.DoesNotContain("kept-out-of-sight", deliveries.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, deliveries.ToJsonString(), StringComparison.Ordinal);
    }
}
