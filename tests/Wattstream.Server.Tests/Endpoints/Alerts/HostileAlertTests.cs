using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Wattstream.Testing;

namespace Wattstream.Server.Tests;

/// <summary>
/// An org admin who floods the hub with alerts (as issue 25 found: 999 rules <c>W &gt; 1</c> with no repeat window and
/// 500 new DERs gave 603 397 alerts in 30 s and blocked every other org's rules) costs the other orgs nothing: rules
/// are limited per org, alerts per org and minute, stored alerts per org.
/// </summary>
public class HostileAlertTests
{
    private const string Flood = "flood";
    private const string Calm = "calm";

    private static readonly string HubAdmin = AuthTests.Token(orgs: "*", scopes: "read publish admin");
    private static readonly string FloodAdmin = AuthTests.Token(orgs: Flood, scopes: "read publish admin");
    private static readonly string CalmAdmin = AuthTests.Token(orgs: Calm, scopes: "read publish admin");

    private static string Reading(string org, int der, double watts) =>
        $$"""{"org":"{{org}}","site":"s1","device":"gw","der":"m{{der}}","type":"meter","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"W":{{watts}}}""";

    private static string Rule(string id, string org) =>
        $$"""{"id":"{{id}}","type":"threshold","org":"{{org}}","field":"W","operator":">","threshold":1,"repeatSeconds":0}""";

    private static async Task<HttpResponseMessage> GetAsync(WattstreamHost host, string path, string token)
    {
        using var request = AuthTests.Request(HttpMethod.Get, path, token);
        return await host.Client.SendAsync(request);
    }

    private static async Task<JsonNode> GetJsonAsync(WattstreamHost host, string path, string token)
    {
        using var response = await GetAsync(host, path, token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    [Fact]
    public async Task An_org_flooding_alerts_is_held_to_its_budgets_while_another_orgs_rule_is_accepted_and_its_alert_arrives_within_2_s()
    {
        var logs = new ConcurrentQueue<string>();
        await using var host = await WattstreamHost.StartAsync(
            b => b.Logging.AddProvider(new CapturingLoggerProvider(logs)).AddFilter<CapturingLoggerProvider>(null, LogLevel.Warning),
            "--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}", "--Simulation:Enabled=false",
            "--Alerts:MaxRules=30", "--Alerts:MaxRulesPerOrg=20", "--Alerts:MaxAlertsPerMinutePerOrg=50",
            "--Alerts:MaxStoredPerOrg=30", "--Alerts:CleanupInterval=00:00:00.200");

        // The flooding org takes all the rules it may, and a few more.
        var created = 0;
        for (var i = 0; i < 30; i++)
        {
            using var response = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/api/alert-rules", Rule($"flood-{i}", Flood), FloodAdmin);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                created++;
                continue;
            }

            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal("too_many_rules", (string?)problem["error"]);
            Assert.Contains("Alerts:MaxRulesPerOrg", (string?)problem["message"], StringComparison.Ordinal);
        }

        Assert.Equal(20, created);

        // 200 new DERs over every threshold at once: 4 000 firing transitions.
        using (var push = AuthTests.Request(HttpMethod.Post, "/api/readings", FloodAdmin))
        {
            push.Content = new StringContent(string.Join('\n', Enumerable.Range(0, 200).Select(i => Reading(Flood, i, 1000))), Encoding.UTF8, "application/x-ndjson");
            using var pushed = await host.Client.SendAsync(push);
            Assert.Equal(HttpStatusCode.OK, pushed.StatusCode);
        }

        // Every transition is either raised (the budget: 50, or 100 if the flood straddled a minute's end) or counted.
        await Eventually.UntilAsync(
            async () => (await GetJsonAsync(host, "/api/alerts/stats", FloodAdmin))["orgs"]![0] is { } org && (long)org["budgetSuppressed"]! + (int)org["firing"]! == 4000,
            "the flood's alerts past the budget are counted");

        // The other org: its rule is accepted, and its alert reaches its stream within 2 s of its reading.
        using (var rule = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/api/alert-rules", Rule("calm-high", Calm), CalmAdmin))
        {
            Assert.Equal(HttpStatusCode.Created, rule.StatusCode);
        }

        var stream = await AlertTests.OpenAlertStreamAsync(host.Client, 1, token: CalmAdmin);
        using (var push = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/api/readings", Reading(Calm, 0, 1000), CalmAdmin))
        {
            Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        }

        var calmAlert = JsonNode.Parse((await stream.WaitAsync(TimeSpan.FromSeconds(2)))[0].Data)!;
        Assert.Equal(("calm-high", Calm, "firing"), ((string?)calmAlert["rule"], (string?)calmAlert["org"], (string?)calmAlert["state"]));

        // Stats: each org admin sees its own org's share, and only that.
        var floodStats = (await GetJsonAsync(host, "/api/alerts/stats", FloodAdmin))["orgs"]!.AsArray();
        Assert.Equal([Flood], floodStats.Select(o => (string?)o!["org"]));
        Assert.Equal(20, (int)floodStats[0]!["rules"]!);
        var raised = (int)floodStats[0]!["firing"]!;
        Assert.True(raised is 50 or 100, $"{raised} raised");
        var calmStats = (await GetJsonAsync(host, "/api/alerts/stats", CalmAdmin))["orgs"]!.AsArray();
        Assert.Equal([Calm], calmStats.Select(o => (string?)o!["org"]));
        Assert.Equal(0, (long)calmStats[0]!["budgetSuppressed"]!);
        var hubStats = await GetJsonAsync(host, "/api/alerts/stats", HubAdmin);
        Assert.Equal((long)floodStats[0]!["budgetSuppressed"]!, (long)hubStats["budgetSuppressed"]!);

        // The metric, labelled by org.
        var metrics = await (await GetAsync(host, "/metrics", HubAdmin)).Content.ReadAsStringAsync();
        var series = metrics.Split('\n').Single(l => l.StartsWith("wattstream_alerts_budget_suppressed_total{", StringComparison.Ordinal));
        Assert.Contains($"org=\"{Flood}\"", series, StringComparison.Ordinal);
        Assert.True(double.Parse(series[(series.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture) == 4000 - raised, series);

        // Stored: at most the budget was ever stored, and the cleanup takes it down to Alerts:MaxStoredPerOrg, oldest first.
        await Eventually.UntilAsync(
            async () => (await GetJsonAsync(host, "/api/alerts?limit=1000", FloodAdmin))["alerts"]!.AsArray().Count == 30,
            "the flood's stored alerts are trimmed to 30");
        var kept = (await GetJsonAsync(host, "/api/alerts?limit=1000", HubAdmin))["alerts"]!.AsArray();
        Assert.Equal(31, kept.Count); // the flood's newest 30 and the calm org's one
        Assert.Contains(kept, a => (string?)a!["org"] == Calm);

        // One warning per org and minute, not one per alert (two if the flood straddled a minute's end).
        var warnings = logs.Count(l => l.Contains($"Org {Flood} raised 50 alerts this minute", StringComparison.Ordinal));
        Assert.InRange(warnings, 1, 2);
    }

    [Fact]
    public async Task Reported_alerts_past_an_orgs_budget_are_refused_with_429_and_another_org_still_reports()
    {
        await using var host = await AuthTests.StartTokenHostAsync("--Simulation:Enabled=false", "--Alerts:MaxAlertsPerMinutePerOrg=3");
        foreach (var (org, token) in new[] { (Flood, FloodAdmin), (Calm, CalmAdmin) })
        {
            using var push = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/api/readings", Reading(org, 0, 100), token);
            Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        }

        async Task<HttpResponseMessage> Report(string org, string token) =>
            await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/api/alerts", $$"""{"type":"x","message":"m","site":"s1","org":"{{org}}"}""", token);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            using var response = await Report(Flood, FloodAdmin);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("alert_budget", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
                Assert.InRange(response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
            }
        }

        // Three in the minute (six if the seven straddled a minute's end), so never all seven.
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.Equal(HttpStatusCode.Created, statuses[0]);
        using var calm = await Report(Calm, CalmAdmin);
        Assert.Equal(HttpStatusCode.Created, calm.StatusCode);
    }
}
