using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Wattstream.Server.Access;

namespace Wattstream.Server.Tests;

/// <summary>
/// A hub with <c>Auth:Mode=token</c> serving two orgs: the simulator's <c>demo</c> (site-1..3) and <c>acme</c>, pushed
/// in at the start. Public keys: an HS256 secret and an ES256 key of this fixture.
/// </summary>
public sealed class TokenHubFixture : IAsyncLifetime
{
    public ECDsa EsKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public string PublicKeyFile { get; } = Path.Combine(Path.GetTempPath(), $"wattstream-es256-{Guid.NewGuid():N}.pem");

    public NSec.Cryptography.Key EdKey { get; } = NSec.Cryptography.Key.Create(NSec.Cryptography.SignatureAlgorithm.Ed25519);

    public string EdPublicKeyFile { get; } = Path.Combine(Path.GetTempPath(), $"wattstream-ed25519-{Guid.NewGuid():N}.pem");

    public WattstreamHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(PublicKeyFile, EsKey.ExportSubjectPublicKeyInfoPem());
        await File.WriteAllBytesAsync(EdPublicKeyFile, EdKey.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.PkixPublicKeyText));
        Host = await AuthTests.StartTokenHostAsync($"--Auth:PublicKeys:0={PublicKeyFile}", $"--Auth:PublicKeys:1={EdPublicKeyFile}");
        using var push = AuthTests.Request(HttpMethod.Post, "/api/readings", AuthTests.Token("acme", scopes: "publish"));
        push.Content = new StringContent(AuthTests.AcmeReading(), Encoding.UTF8, "application/json");
        (await Host.Client.SendAsync(push)).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        File.Delete(PublicKeyFile);
        File.Delete(EdPublicKeyFile);
        EsKey.Dispose();
        EdKey.Dispose();
    }
}

public class AuthTests(TokenHubFixture fixture) : IClassFixture<TokenHubFixture>
{
    public const string Secret = "wattstream-test-secret-of-32-bytes-or-more";

    private WattstreamHost Host => fixture.Host;

    public static Task<WattstreamHost> StartTokenHostAsync(params string[] settings) =>
        WattstreamHost.StartAsync(["--Auth:Mode=token", $"--Auth:HmacSecret={Secret}", .. settings]);

    /// <summary>An HS256 token of <see cref="Secret"/>; <paramref name="clock"/> shifts its times (expired, not yet valid).</summary>
    public static string Token(string orgs = "demo", string? sites = null, string scopes = "read", TimeSpan? ttl = null, string secret = Secret, TimeProvider? clock = null) =>
        TokenIssuer.Create(
            new AuthOptions(),
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
            "test-caller",
            orgs.Split(','),
            sites?.Split(',') ?? [],
            scopes.Split(' '),
            ttl ?? TimeSpan.FromMinutes(10),
            clock ?? TimeProvider.System);

    /// <summary>A read token of every demo site for another subject (limits are per subject).</summary>
    public static string TokenFor(string subject) =>
        TokenIssuer.Create(
            new AuthOptions(),
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256),
            subject,
            ["demo"],
            [],
            ["read"],
            TimeSpan.FromMinutes(10),
            TimeProvider.System);

    public static HttpRequestMessage Request(HttpMethod method, string path, string? token)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    public static string AcmeReading() =>
        $$"""{"org":"acme","site":"plant","device":"gw","der":"pv-acme","type":"pv","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"W":-1200}""";

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path, string? token, WattstreamHost? host = null)
    {
        using var request = Request(HttpMethod.Get, path, token);
        using var response = await (host ?? Host).Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/api/sites")]
    [InlineData("/api/meters")]
    [InlineData("/api/v1/live")]
    [InlineData("/api/sse/meters")]
    [InlineData("/stream/sites/site-1")]
    [InlineData("/api/dersim/overview")]
    [InlineData("/api/history?site=site-1&from=2026-11-01T10:00:00Z&to=2026-11-01T10:02:00Z")]
    [InlineData("/api/sources")]
    [InlineData("/metrics")]
    [InlineData("/no-such-path")]
    public async Task Without_a_token_every_data_endpoint_is_401_with_a_problem_and_a_bearer_challenge(string path)
    {
        using var response = await Host.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("unauthorized", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/")]
    public async Task Health_the_api_description_and_the_dashboard_page_stay_public(string path)
    {
        using var response = await Host.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_websocket_upgrade_without_a_token_is_refused_and_with_one_in_the_query_is_served()
    {
        using var anonymous = new ClientWebSocket();
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(Ws("/ws"), CancellationToken.None));
        await using var client = await WebSocketClient.ConnectAsync(Host, $"/ws?access_token={Token()}");
        await client.SendAsync("""{"type":"subscribe","id":"a","subject":"orgs.demo.>"}""");

        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        await client.ReceiveUntilAsync(m => (string?)m["type"] == "subscribed");
        Assert.Equal("reading", (string?)(await client.ReceiveJsonAsync())["type"]);
    }

    public static TheoryData<string, string> RefusedTokens()
    {
        return new TheoryData<string, string>
        {
            { "expired", Token(ttl: TimeSpan.FromHours(1), clock: new ShiftedClock(TimeSpan.FromHours(-2))) },
            { "not yet valid", Token(clock: new ShiftedClock(TimeSpan.FromHours(2))) },
            { "forged (another secret)", Token(secret: "another-secret-that-is-32-bytes-long!!") },
            { "alg none", Unsigned("""{"alg":"none","typ":"JWT"}""") },
            { "alg none, capitalised", Unsigned("""{"alg":"None","typ":"JWT"}""") },
            { "tampered payload", Tampered(Token(sites: "site-1")) },
            { "garbage", "not.a.token" },
            { "no expiry", NoExpiry() },
        };
    }

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task A_bad_token_is_refused_with_a_reason_and_no_echo(string why, string token)
    {
        var (status, body) = await GetAsync("/api/sites", token);
        var (queryStatus, queryBody) = await GetAsync($"/api/sites?access_token={Uri.EscapeDataString(token)}", null);

        Assert.True(status == HttpStatusCode.Unauthorized, $"{why}: {status} {body}");
        Assert.Equal(HttpStatusCode.Unauthorized, queryStatus);
        Assert.DoesNotContain(token, body, StringComparison.Ordinal);
        Assert.DoesNotContain(token, queryBody, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
        var error = (string?)JsonNode.Parse(body)!["error"];
        Assert.Equal(why switch { "expired" => "token_expired", "not yet valid" => "token_not_yet_valid", _ => "invalid_token" }, error);
    }

    [Fact]
    public async Task An_hs256_token_keyed_with_the_es256_public_key_is_refused()
    {
        var (status, body) = await GetAsync("/api/sites", HmacWithPublicKeyPem());

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_token", (string?)JsonNode.Parse(body)!["error"]);
    }

    [Fact]
    public async Task An_es256_token_of_a_configured_key_is_accepted_and_one_of_another_key_is_not()
    {
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var (ok, body) = await GetAsync("/api/sites", Es256(fixture.EsKey));
        var (refused, _) = await GetAsync("/api/sites", Es256(stranger));

        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Contains("site-3", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, refused);
    }

    [Fact]
    public async Task An_eddsa_token_of_a_configured_ed25519_key_is_accepted_from_pem_and_jwks_and_one_of_another_key_is_not()
    {
        using var stranger = NSec.Cryptography.Key.Create(NSec.Cryptography.SignatureAlgorithm.Ed25519);
        var jwks = Path.Combine(Path.GetTempPath(), $"wattstream-jwks-{Guid.NewGuid():N}.json");
        var x = Base64UrlEncoder.Encode(fixture.EdKey.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey));
        await File.WriteAllTextAsync(jwks, $$"""{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"novacore-1","x":"{{x}}"}]}""");
        try
        {
            await using var jwksHost = await StartTokenHostAsync($"--Auth:PublicKeys:0={jwks}");

            var (ok, body) = await GetAsync("/api/sites", EdDsa(fixture.EdKey));
            var (refused, refusedBody) = await GetAsync("/api/sites", EdDsa(stranger));
            var (viaJwks, _) = await GetAsync("/api/sites", EdDsa(fixture.EdKey), jwksHost);
            var (strangerViaJwks, _) = await GetAsync("/api/sites", EdDsa(stranger), jwksHost);

            Assert.Equal(HttpStatusCode.OK, ok);
            Assert.Contains("site-1", body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Unauthorized, refused);
            Assert.Equal("invalid_token", (string?)JsonNode.Parse(refusedBody)!["error"]);
            Assert.Equal(HttpStatusCode.OK, viaJwks);
            Assert.Equal(HttpStatusCode.Unauthorized, strangerViaJwks);
        }
        finally
        {
            File.Delete(jwks);
        }
    }

    [Fact]
    public async Task Issuer_and_audience_are_checked_when_configured()
    {
        await using var host = await StartTokenHostAsync("--Auth:Issuer=https://issuer.test", "--Auth:Audience=wattstream");

        var (right, _) = await GetAsync("/api/sites", Signed(new() { ["iss"] = "https://issuer.test", ["aud"] = "wattstream" }), host);
        var (wrongIssuer, issuerBody) = await GetAsync("/api/sites", Signed(new() { ["iss"] = "https://evil.test", ["aud"] = "wattstream" }), host);
        var (wrongAudience, audienceBody) = await GetAsync("/api/sites", Signed(new() { ["iss"] = "https://issuer.test", ["aud"] = "other" }), host);
        var (none, _) = await GetAsync("/api/sites", Token(), host);

        Assert.Equal(HttpStatusCode.OK, right);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongIssuer);
        Assert.Contains("issuer", issuerBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongAudience);
        Assert.Contains("audience", audienceBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, none);
    }

    [Fact]
    public async Task Discovery_lists_only_the_tokens_orgs_and_sites()
    {
        var (_, site1) = await GetAsync("/api/sites", Token(sites: "site-1"));
        var (_, demo) = await GetAsync("/api/sites", Token());
        var (_, acme) = await GetAsync("/api/sites", Token("acme"));
        var (_, meters) = await GetAsync("/api/meters", Token(sites: "site-1"));

        Assert.Equal(["site-1"], JsonNode.Parse(site1)!.AsArray().Select(s => (string)s!["site"]!));
        Assert.Equal(["site-1", "site-2", "site-3"], JsonNode.Parse(demo)!.AsArray().Select(s => (string)s!["site"]!).Order());
        Assert.Equal(["plant"], JsonNode.Parse(acme)!.AsArray().Select(s => (string)s!["site"]!));
        Assert.DoesNotContain("demo", acme, StringComparison.Ordinal);
        Assert.DoesNotContain("acme", demo, StringComparison.Ordinal);
        Assert.All(JsonNode.Parse(meters)!.AsArray(), m => Assert.Equal("site-1", (string?)m!["site"]));
    }

    [Fact]
    public async Task A_site_or_meter_outside_the_token_is_not_found_as_if_it_did_not_exist()
    {
        var site1 = Token(sites: "site-1");
        var (_, allMeters) = await GetAsync("/api/meters", Token());
        var site2Meter = JsonNode.Parse(allMeters)!.AsArray().First(m => (string?)m!["site"] == "site-2")!["meterNo"]!.ToString();

        foreach (var path in new[]
        {
            "/stream/sites/site-2", "/stream/sites/plant", $"/meters/{site2Meter}/api/v1/live", $"/meters/{site2Meter}/api/v1/report",
            $"/api/sse/real-time-data/{site2Meter}", $"/api/sse/meter-status/{site2Meter}",
            "/api/history?site=site-2&from=2026-11-01T10:00:00Z&to=2026-11-01T10:02:00Z",
        })
        {
            var (status, body) = await GetAsync(path, site1);
            Assert.True(status == HttpStatusCode.NotFound, $"{path}: {status} {body}");
        }

        var (unknown, _) = await GetAsync("/stream/sites/no-such-site", site1);
        Assert.Equal(HttpStatusCode.NotFound, unknown); // the same answer as for a site that exists elsewhere
    }

    [Fact]
    public async Task Sse_streams_carry_only_the_tokens_sites()
    {
        var (_, allMeters) = await GetAsync("/api/meters", Token());
        var others = JsonNode.Parse(allMeters)!.AsArray().Where(m => (string?)m!["site"] != "site-1").Select(m => m!["meterNo"]!.ToString()).ToArray();
        using var client = Client(Token(sites: "site-1"));

        var hes = await SseClient.ReadAsync(client, "/api/sse/meters", 6, TimeSpan.FromSeconds(15));
        var statuses = await SseClient.ReadAsync(client, "/hes/service/meter-status/stream", 1, TimeSpan.FromSeconds(15));
        var live = await SseClient.ReadAsync(client, "/api/v1/live", 2, TimeSpan.FromSeconds(15));

        Assert.Equal(6, hes.Count);
        Assert.All(hes, e => Assert.DoesNotContain(others, m => e.Data.Contains(m, StringComparison.Ordinal)));
        Assert.All(statuses, e => Assert.DoesNotContain(others, m => e.Data.Contains(m, StringComparison.Ordinal)));
        Assert.Equal(2, live.Count(e => e.EventType == "live"));
    }

    [Fact]
    public async Task A_websocket_subscription_is_narrowed_to_the_grant_and_one_outside_it_is_refused()
    {
        await using var client = await WebSocketClient.ConnectAsync(Host, $"/ws?access_token={Token(sites: "site-1")}");

        await client.SendAsync("""{"type":"subscribe","id":"all","subject":"orgs.>"}""");
        await client.SendAsync("""{"type":"subscribe","id":"acme","subject":"orgs.acme.>"}""");
        await client.SendAsync("""{"type":"subscribe","id":"other-site","subject":"orgs.*.sites.site-2.>"}""");

        var messages = new List<JsonNode>();
        while (messages.Count(m => (string?)m["type"] == "reading") < 20)
        {
            messages.Add(await client.ReceiveJsonAsync());
        }

        Assert.Equal("subscribed", (string?)messages.Single(m => (string?)m["id"] == "all" && (string?)m["type"] != "reading")["type"]);
        var errors = messages.Where(m => (string?)m["type"] == "error").ToArray();
        Assert.Equal(["acme", "other-site"], errors.Select(e => (string?)e["id"]).Order());
        Assert.All(errors, e => Assert.Equal("forbidden_subject", (string?)e["code"]));
        Assert.All(messages.Where(m => (string?)m["type"] == "reading"), r => Assert.StartsWith("orgs.demo.sites.site-1.", (string)r["subject"]!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_dersim_family_shows_only_the_tokens_devices()
    {
        var (_, all) = await GetAsync("/api/dersim/devices", Token());
        var (_, site1) = await GetAsync("/api/dersim/devices", Token(sites: "site-1"));
        var (_, acme) = await GetAsync("/api/dersim/devices", Token("acme"));

        var allCount = JsonNode.Parse(all)!.AsArray().Count;
        var site1Count = JsonNode.Parse(site1)!.AsArray().Count;
        Assert.InRange(site1Count, 1, allCount - 1);
        Assert.DoesNotContain("site-2", site1, StringComparison.Ordinal);
        Assert.DoesNotContain("demo", acme, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publishing_needs_the_publish_scope_and_stays_inside_the_tokens_orgs_and_sites()
    {
        async Task<(HttpStatusCode, string)> PushAsync(string token, string body)
        {
            using var request = Request(HttpMethod.Post, "/api/readings", token);
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await Host.Client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var (readOnly, readOnlyBody) = await PushAsync(Token("acme", scopes: "read"), AcmeReading());
        var (crossOrg, crossOrgBody) = await PushAsync(Token("acme", scopes: "publish"), AcmeReading().Replace("\"acme\"", "\"demo\"", StringComparison.Ordinal));
        var (crossSite, _) = await PushAsync(Token("acme", sites: "other", scopes: "publish"), AcmeReading());
        var (own, _) = await PushAsync(Token("acme", sites: "plant", scopes: "publish"), AcmeReading());

        Assert.Equal(HttpStatusCode.Forbidden, readOnly);
        Assert.Equal("forbidden", (string?)JsonNode.Parse(readOnlyBody)!["error"]);
        Assert.Equal(HttpStatusCode.Forbidden, crossOrg);
        Assert.Equal("outside_scope", (string?)JsonNode.Parse(crossOrgBody)!["error"]);
        Assert.Equal(HttpStatusCode.Forbidden, crossSite);
        Assert.Equal(HttpStatusCode.OK, own);
    }

    [Theory]
    [InlineData("/api/sources")]
    [InlineData("/api/storage")]
    [InlineData("/metrics")]
    public async Task The_hubs_own_endpoints_need_the_admin_scope(string path)
    {
        var (reader, _) = await GetAsync(path, Token(scopes: "read publish"));
        var (orgAdmin, _) = await GetAsync(path, Token("acme", scopes: "admin"));
        var (admin, _) = await GetAsync(path, Token("*", scopes: "admin"));

        Assert.Equal(HttpStatusCode.Forbidden, reader);
        Assert.Equal(HttpStatusCode.Forbidden, orgAdmin); // an admin of one org does not see the hub's sources, storage or metrics
        Assert.Equal(HttpStatusCode.OK, admin);
    }

    [Fact]
    public async Task A_session_cookie_is_httponly_and_strict_and_serves_like_the_token()
    {
        var token = Token(sites: "site-2");
        using var login = await Host.Client.PostAsync("/api/session", new StringContent($$"""{"token":"{{token}}"}""", Encoding.UTF8, "application/json"));
        using var badLogin = await Host.Client.PostAsync("/api/session", new StringContent("""{"token":"x.y.z"}""", Encoding.UTF8, "application/json"));
        var cookie = login.Headers.GetValues("Set-Cookie").Single();

        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["site-2"], JsonNode.Parse(await login.Content.ReadAsStringAsync())!["sites"]!.AsArray().Select(s => (string?)s));
        Assert.Equal(HttpStatusCode.Unauthorized, badLogin.StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sites");
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var sites = await Host.Client.SendAsync(request);
        Assert.Equal(["site-2"], JsonNode.Parse(await sites.Content.ReadAsStringAsync())!.AsArray().Select(s => (string)s!["site"]!));

        using var logout = await Host.Client.DeleteAsync("/api/session");
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Contains("expires=Thu, 01 Jan 1970", logout.Headers.GetValues("Set-Cookie").Single(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_token_in_the_query_never_reaches_the_log()
    {
        var logs = new ConcurrentQueue<string>();
        await using var host = await WattstreamHost.StartAsync(
            b => b.Logging.AddProvider(new CapturingLoggerProvider(logs)).AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace),
            "--Auth:Mode=token", $"--Auth:HmacSecret={Secret}", "--Logging:LogLevel:Default=Trace");
        var valid = Token();
        var invalid = Token(secret: "another-secret-that-is-32-bytes-long!!");
        using var client = new HttpClient { BaseAddress = host.BaseAddress };

        await SseClient.ReadAsync(client, $"/api/sse/meters?access_token={valid}&x=1", 1, TimeSpan.FromSeconds(10));
        (await client.GetAsync($"/api/sites?access_token={invalid}")).Dispose();
        (await client.GetAsync($"/nowhere?ACCESS_TOKEN={valid}")).Dispose();
        await using (var ws = await WebSocketClient.ConnectAsync(host, $"/ws?access_token={valid}"))
        {
            await ws.SendAsync("""{"type":"ping"}""");
            await ws.ReceiveJsonAsync();
        }

        await Eventually.UntilAsync(() => logs.Any(l => l.Contains("/nowhere", StringComparison.Ordinal)), "the last request is logged", TimeSpan.FromSeconds(5));
        Assert.Contains(logs, l => l.Contains("/api/sse/meters?x=1", StringComparison.Ordinal)); // the line is logged, without the token
        Assert.DoesNotContain(logs, l => l.Contains(valid, StringComparison.Ordinal) || l.Contains(invalid, StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains(valid.Split('.')[2], StringComparison.Ordinal)); // not even the signature
        Assert.DoesNotContain(logs, l => l.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_ends_when_its_token_expires_saying_so_and_a_new_token_resumes_it()
    {
        await using var host = await StartTokenHostAsync("--Auth:ClockSkew=00:00:00");
        using var client = Client(Token(ttl: TimeSpan.FromSeconds(3)), host);

        var events = await SseClient.ReadAsync(client, "/api/sse/meters", 1000, TimeSpan.FromSeconds(20), until: e => e.EventType == "auth");
        await using var ws = await WebSocketClient.ConnectAsync(host, $"/ws?access_token={Token(ttl: TimeSpan.FromSeconds(3))}");
        await ws.SendAsync("""{"type":"subscribe","id":"a","subject":">"}""");
        while (await ws.ReceiveTextAsync(TimeSpan.FromSeconds(20)) is not null)
        {
        }

        var auth = events[^1];
        Assert.Equal("auth", auth.EventType);
        Assert.Equal("token_expired", (string?)JsonNode.Parse(auth.Data)!["error"]);
        Assert.Contains(events, e => e.EventType == "message");
        Assert.Equal(4401, (int?)ws.Socket.CloseStatus);

        var lastId = events.Last(e => e.EventId is not null).EventId;
        using var renewed = Client(Token(), host);
        var resumed = await SseClient.ReadAsync(renewed, "/api/sse/meters", 1, TimeSpan.FromSeconds(10), lastEventId: lastId);
        Assert.Equal("message", resumed[0].EventType); // resumed from the ring, not a gap
        Assert.True(SseClient.Sequence(resumed[0].EventId!) > SseClient.Sequence(lastId!));
    }

    [Fact]
    public async Task Hostile_credentials_and_bodies_get_4xx_never_5xx()
    {
        string[] headers =
        [
            "Bearer", "Bearer ", "Bearer " + new string('a', 10_000), "Bearer a.b.c", "Bearer ..", "Bearer wsk_", "Bearer wsk__", "Bearer wsk_x_y",
            "Bearer " + Unsigned("""{"alg":"HS256","kid":"../../etc/passwd"}"""), "Digest", "Digest nonce=\"", "Basic !!!", "Basic " + Convert.ToBase64String(new byte[3000]),
            "Negotiate abc", "Bearer \u0001",
        ];
        string[] queries = ["", "%00", "%FF", new string('x', 3000), "wsk_" + new string('1', 100), "a&access_token=b", "Bearer%20x"];
        string[] bodies = ["", "{", "null", "[]", """{"token":null}""", """{"token":42}""", "{\"token\":\"" + new string('x', 20_000) + "\"}", """{"name":{},"orgs":"demo"}"""];
        var failures = new List<string>();
        foreach (var header in headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sites");
            request.Headers.TryAddWithoutValidation("Authorization", header);
            using var response = await Host.Client.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.Unauthorized && (int)response.StatusCode != 400)
            {
                failures.Add($"Authorization: {header[..Math.Min(header.Length, 30)]} → {(int)response.StatusCode}");
            }
        }

        foreach (var query in queries)
        {
            using var response = await Host.Client.GetAsync($"/api/sites?access_token={query}");
            if ((int)response.StatusCode is < 400 or >= 500)
            {
                failures.Add($"?access_token={query[..Math.Min(query.Length, 30)]} → {(int)response.StatusCode}");
            }
        }

        foreach (var path in new[] { "/api/session", "/api/keys" })
        {
            foreach (var body in bodies)
            {
                using var request = Request(HttpMethod.Post, path, path == "/api/keys" ? Token(scopes: "admin") : null);
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                using var response = await Host.Client.SendAsync(request);
                if ((int)response.StatusCode is < 400 or >= 500)
                {
                    failures.Add($"POST {path} {body[..Math.Min(body.Length, 30)]} → {(int)response.StatusCode}");
                }
            }
        }

        Assert.Empty(failures);
    }

    [Fact]
    public async Task Nothing_another_org_holds_appears_in_any_answer_to_an_acme_caller()
    {
        var acme = Token("acme", scopes: "read publish admin");
        var (_, demoMeters) = await GetAsync("/api/meters", Token());
        string[] demoIds = ["demo", "site-1", "site-2", "site-3", .. JsonNode.Parse(demoMeters)!.AsArray().Select(m => m!["meterNo"]!.ToString())];
        string[] paths =
        [
            "/api/sites", "/api/meters", "/api/dersim/devices", "/api/dersim/overview", "/api/dersim/server-info", "/api/v1/report", "/api/v1/system",
            "/api/history?site=plant&from=2026-11-01T10:00:00Z&to=2026-11-01T10:02:00Z", "/api/keys", "/api/history?der=62124022441",
            "/stream/sites/site-1", "/api/sse/real-time-data/62124022441",
        ];

        foreach (var path in paths)
        {
            var (status, body) = await GetAsync(path, acme);
            Assert.True((int)status < 500, $"{path}: {status}");
            Assert.DoesNotContain(demoIds, id => body.Contains($"\"{id}\"", StringComparison.Ordinal) || body.Contains($".{id}.", StringComparison.Ordinal));
        }

        // acme has no meter: its meter stream opens (200) and stays silent while demo's meters report every 200 ms.
        using var client = Client(acme);
        var (hesStatus, hes) = await SseClient.ListenAsync(client, "/api/sse/meters", TimeSpan.FromSeconds(3));
        Assert.Equal(HttpStatusCode.OK, hesStatus);
        Assert.Empty(hes);
    }

    private HttpClient Client(string token, WattstreamHost? host = null)
    {
        var client = new HttpClient { BaseAddress = (host ?? Host).BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private Uri Ws(string path) => new UriBuilder(new Uri(Host.BaseAddress, path)) { Scheme = "ws" }.Uri;

    private static string Base64Url(string json) => Base64UrlEncoder.Encode(json);

    private static string Claims() =>
        $$"""{"sub":"x","org":"demo","scope":"read","exp":{{DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds()}}}""";

    private static string Unsigned(string header) => $"{Base64Url(header)}.{Base64Url(Claims())}.";

    // Widen a site-1 token to every site by editing its payload, keeping the signature.
    private static string Tampered(string token)
    {
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload["sites"] = "*";
        return $"{parts[0]}.{Base64Url(payload.ToJsonString())}.{parts[2]}";
    }

    // The classic confusion: an HS256 token whose HMAC key is the server's public key (which is no secret).
    private string HmacWithPublicKeyPem() =>
        new JsonWebTokenHandler().CreateToken(Claims(), new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(File.ReadAllText(fixture.PublicKeyFile))), SecurityAlgorithms.HmacSha256));

    private static string NoExpiry() =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken("""{"sub":"x","org":"demo","scope":"read"}""", new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256));

    private static string EdDsa(NSec.Cryptography.Key key)
    {
        var signed = $"{Base64Url("""{"alg":"EdDSA","typ":"JWT"}""")}.{Base64Url(Claims())}";
        var signature = NSec.Cryptography.SignatureAlgorithm.Ed25519.Sign(key, Encoding.ASCII.GetBytes(signed));
        return $"{signed}.{Base64UrlEncoder.Encode(signature)}";
    }

    private static string Es256(ECDsa key) =>
        new JsonWebTokenHandler().CreateToken(Claims(), new SigningCredentials(new ECDsaSecurityKey(key), SecurityAlgorithms.EcdsaSha256));

    private static string Signed(Dictionary<string, object> extra)
    {
        var claims = new Dictionary<string, object> { ["sub"] = "x", ["org"] = "demo", ["scope"] = "read" };
        foreach (var (k, v) in extra)
        {
            claims[k] = v;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256),
        });
    }

    private sealed class ShiftedClock(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
    }
}
