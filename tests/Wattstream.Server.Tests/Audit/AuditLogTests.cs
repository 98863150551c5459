using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using Wattstream.Server.Access;
using Wattstream.Server.Audit;
using Wattstream.Testing;

namespace Wattstream.Server.Tests;

/// <summary>
/// The audit log: who made, changed, revoked or deleted API keys and alert rules, as log lines of their own category
/// and at <c>GET /api/audit</c> (stored, paged, per org), never holding a secret.
/// </summary>
public class AuditLogTests
{
    private static string TokenOf(string subject, string org, string scopes = "read publish admin") =>
        TokenIssuer.Create(
            new AuthOptions(),
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(AuthTests.Secret)), SecurityAlgorithms.HmacSha256),
            subject,
            [org],
            [],
            scopes.Split(' '),
            TimeSpan.FromMinutes(10),
            TimeProvider.System);

    private static readonly string Alice = TokenOf("alice", "acme");
    private static readonly string Bob = TokenOf("bob", "globex");
    private static readonly string HubAdmin = TokenOf("root", "*");

    private static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(WattstreamHost host, HttpMethod method, string path, string? token, string? json = null)
    {
        using var request = AuthTests.Request(method, path, token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        var response = await host.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private static async Task<JsonArray> AuditAsync(WattstreamHost host, string token, string query = "")
    {
        var (status, body, response) = await SendAsync(host, HttpMethod.Get, "/api/audit" + query, token);
        response.Dispose();
        Assert.Equal(HttpStatusCode.OK, status);
        return JsonNode.Parse(body)!.AsArray();
    }

    /// <summary>An org admin's day: a key made and revoked, a rule made, changed and deleted. Returns the key's secret.</summary>
    private static async Task<string> ChangeThingsAsync(WattstreamHost host, string token, string org)
    {
        var (status, body, response) = await SendAsync(host, HttpMethod.Post, "/api/keys", token, $$"""{"name":"{{org}}-gateway","orgs":["{{org}}"],"scopes":["read"]}""");
        response.Dispose();
        Assert.Equal(HttpStatusCode.Created, status);
        var created = JsonNode.Parse(body)!;
        var key = (string)created["key"]!;
        var id = (string)created["details"]!["id"]!;
        foreach (var (method, path, json, expected) in new (HttpMethod, string, string?, HttpStatusCode)[]
        {
            (HttpMethod.Delete, $"/api/keys/{id}", null, HttpStatusCode.NoContent),
            (HttpMethod.Post, "/api/alert-rules", $$"""{"id":"{{org}}-lv","type":"low_voltage","org":"{{org}}"}""", HttpStatusCode.Created),
            (HttpMethod.Put, $"/api/alert-rules/{org}-lv", $$"""{"type":"low_voltage","org":"{{org}}","threshold":210}""", HttpStatusCode.OK),
            (HttpMethod.Delete, $"/api/alert-rules/{org}-lv", null, HttpStatusCode.NoContent),
        })
        {
            var (s, b, r) = await SendAsync(host, method, path, token, json);
            r.Dispose();
            Assert.True(expected == s, $"{method} {path}: {s} {b}");
        }

        return key;
    }

    [Fact]
    public async Task Key_and_rule_changes_are_audited_with_who_and_when_each_org_admin_reads_only_its_own_and_no_secret_is_logged_or_listed()
    {
        var logs = new ConcurrentQueue<string>();
        await using var host = await WattstreamHost.StartAsync(
            b => b.Logging.AddProvider(new CapturingLoggerProvider(logs)).AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace),
            "--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}", "--Simulation:Enabled=false");
        var before = DateTimeOffset.UtcNow;
        var aliceKey = await ChangeThingsAsync(host, Alice, "acme");
        var bobKey = await ChangeThingsAsync(host, Bob, "globex");

        var acme = await AuditAsync(host, Alice);
        string[] expected = ["deleted alert_rule acme-lv", "changed alert_rule acme-lv", "created alert_rule acme-lv", "revoked api_key", "created api_key"];
        Assert.Equal(expected, acme.Select(e => $"{e!["action"]} {e["kind"]} {(((string)e["kind"]!) == AuditLog.AlertRule ? e["target"] : "")}".TrimEnd()));
        Assert.All(acme, e =>
        {
            Assert.Equal(("alice", "acme"), ((string?)e!["subject"], (string?)e["org"]));
            Assert.InRange(DateTimeOffset.Parse((string)e["time"]!, System.Globalization.CultureInfo.InvariantCulture), before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        });
        Assert.Equal(210, (double)acme[1]!["details"]!["threshold"]!); // what it was changed to
        Assert.Equal("acme-gateway", (string?)acme[4]!["details"]!["name"]);

        var globex = await AuditAsync(host, Bob);
        Assert.Equal(5, globex.Count);
        Assert.All(globex, e => Assert.Equal(("bob", "globex"), ((string?)e!["subject"], (string?)e["org"])));
        Assert.Equal(10, (await AuditAsync(host, HubAdmin)).Count);

        // Paged like the other listings.
        var (_, _, paged) = await SendAsync(host, HttpMethod.Get, "/api/audit?limit=2", Alice);
        using (paged)
        {
            Assert.Equal(2, JsonNode.Parse(await paged.Content.ReadAsStringAsync())!.AsArray().Count);
            Assert.Equal("5", paged.Headers.GetValues("X-Total-Count").Single());
            Assert.Contains("offset=2", paged.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        }

        Assert.Equal(expected[2..], (await AuditAsync(host, Alice, "?limit=10&offset=2")).Select(e => $"{e!["action"]} {e["kind"]} {(((string)e["kind"]!) == AuditLog.AlertRule ? e["target"] : "")}".TrimEnd()));

        // Not for readers, nor for anyone without a token.
        foreach (var (token, status) in new[] { (TokenOf("carol", "acme", "read publish"), HttpStatusCode.Forbidden), ((string?)null, HttpStatusCode.Unauthorized) })
        {
            var (s, body, r) = await SendAsync(host, HttpMethod.Get, "/api/audit", token);
            r.Dispose();
            Assert.Equal(status, s);
            Assert.NotNull(JsonNode.Parse(body)!["error"]);
        }

        // Log lines of their own category, one per change, naming who; no key, token or signing secret anywhere.
        var auditLines = logs.Where(l => l.StartsWith(AuditLog.Category + ":", StringComparison.Ordinal)).ToArray();
        Assert.Equal(10, auditLines.Length);
        Assert.Equal(5, auditLines.Count(l => l.Contains("alice", StringComparison.Ordinal) && l.Contains("acme", StringComparison.Ordinal)));
        var everything = string.Join('\n', logs) + (await SendAsync(host, HttpMethod.Get, "/api/audit", HubAdmin)).Body;
        foreach (var secret in new[] { aliceKey, bobKey, AuthTests.Secret, Alice, Bob, "wsk_" })
        {
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_audit_log_survives_a_restart_and_keeps_the_newest_entries_per_org_so_one_orgs_churn_never_pushes_out_anothers()
    {
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-audit-{Guid.NewGuid():N}");
        try
        {
            string[] settings = ["--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}", "--Simulation:Enabled=false", $"--Storage:DataDirectory={data}"];
            await using (var host = await WattstreamHost.StartAsync(settings))
            {
                await ChangeThingsAsync(host, Bob, "globex");
                await ChangeThingsAsync(host, Alice, "acme");
            }

            await using (var host = await WattstreamHost.StartAsync([.. settings, "--Audit:MaxEntriesPerOrg=3", "--Audit:CleanupInterval=00:00:00.200"]))
            {
                // acme churns on: 5 more changes; globex's history stays.
                for (var i = 0; i < 5; i++)
                {
                    var (status, _, r) = await SendAsync(host, HttpMethod.Put, "/api/alert-rules/acme-churn", Alice, $$"""{"type":"low_voltage","org":"acme","threshold":{{200 + i}}}""");
                    r.Dispose();
                    Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Created, status.ToString());
                }

                await Eventually.UntilAsync(async () => (await AuditAsync(host, Alice)).Count == 3, "acme's entries are trimmed to 3");
                var acme = await AuditAsync(host, Alice);
                Assert.Equal([204, 203, 202], acme.Select(e => (int)(double)e!["details"]!["threshold"]!)); // the newest
                var globex = await AuditAsync(host, Bob);
                Assert.Equal(3, globex.Count); // kept from before the restart: its newest 3 of 5
                Assert.Equal(["deleted", "changed", "created"], globex.Select(e => (string?)e!["action"]));
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
}
