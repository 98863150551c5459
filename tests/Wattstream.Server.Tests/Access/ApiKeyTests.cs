using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>API keys: made by admins within their own orgs, shown once, stored hashed, revocable, used like tokens.</summary>
public sealed class ApiKeyTests : IAsyncLifetime
{
    private WattstreamHost _host = null!;

    public async Task InitializeAsync() => _host = await AuthTests.StartTokenHostAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string credential, object? body = null, bool asHeader = false)
    {
        using var request = new HttpRequestMessage(method, path);
        if (asHeader)
        {
            request.Headers.Add("X-Api-Key", credential);
        }
        else
        {
            request.Headers.Authorization = new("Bearer", credential);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await _host.Client.SendAsync(request);
    }

    private async Task<(string Key, string Id)> CreateKeyAsync(object request)
    {
        using var created = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", scopes: "admin read publish", ttl: TimeSpan.FromDays(30)), request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        return ((string)body["key"]!, (string)body["details"]!["id"]!);
    }

    [Fact]
    public async Task A_key_reads_what_it_grants_by_header_and_by_query_and_its_secret_is_shown_once_and_stored_hashed()
    {
        var (key, id) = await CreateKeyAsync(new { name = "gateway", orgs = new[] { "demo" }, sites = new[] { "site-1" }, scopes = new[] { "read" } });

        using var bearer = await SendAsync(HttpMethod.Get, "/api/sites", key);
        using var header = await SendAsync(HttpMethod.Get, "/api/sites", key, asHeader: true);
        using var client = new HttpClient { BaseAddress = _host.BaseAddress };
        var events = await SseClient.ReadAsync(client, $"/stream/sites/site-1?access_token={key}", 2, TimeSpan.FromSeconds(10));
        using var otherSite = await SendAsync(HttpMethod.Get, "/stream/sites/site-2", key);
        using var listing = await SendAsync(HttpMethod.Get, "/api/keys", AuthTests.Token("demo", scopes: "admin"));
        var listed = await listing.Content.ReadAsStringAsync();
        var file = Path.Combine(_host.DataDirectory, "api-keys.json");
        var stored = await File.ReadAllTextAsync(file);

        Assert.StartsWith("wsk_", key, StringComparison.Ordinal);
        Assert.Equal(["site-1"], JsonNode.Parse(await bearer.Content.ReadAsStringAsync())!.AsArray().Select(s => (string)s!["site"]!));
        Assert.Equal(HttpStatusCode.OK, header.StatusCode);
        Assert.Equal(2, events.Count);
        Assert.Equal(HttpStatusCode.NotFound, otherSite.StatusCode);
        Assert.Contains(id, listed, StringComparison.Ordinal);
        var secret = key[(key.IndexOf('_', 4) + 1)..]; // wsk_{id}_{secret}: the secret may itself hold '_'
        Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
        Assert.Contains("\"hash\"", stored, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public async Task A_revoked_key_and_a_key_with_a_wrong_secret_are_refused()
    {
        var (key, id) = await CreateKeyAsync(new { name = "script", orgs = new[] { "demo" } });
        var forged = key[..^4] + (key.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");

        using var before = await SendAsync(HttpMethod.Get, "/api/sites", key);
        using var wrong = await SendAsync(HttpMethod.Get, "/api/sites", forged);
        using var revoke = await SendAsync(HttpMethod.Delete, $"/api/keys/{id}", AuthTests.Token("demo", scopes: "admin"));
        using var after = await SendAsync(HttpMethod.Get, "/api/sites", key);
        using var again = await SendAsync(HttpMethod.Delete, $"/api/keys/{id}", AuthTests.Token("demo", scopes: "admin"));

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Equal("invalid_key", (string?)JsonNode.Parse(await after.Content.ReadAsStringAsync())!["error"]);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task Only_admins_make_keys_and_only_within_their_own_orgs_and_sites()
    {
        using var reader = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", scopes: "read publish"), new { name = "x", orgs = new[] { "demo" } });
        using var otherOrg = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", scopes: "admin"), new { name = "x", orgs = new[] { "acme" } });
        using var everyOrg = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", scopes: "admin"), new { name = "x", orgs = new[] { "*" } });
        using var wider = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", sites: "site-1", scopes: "admin"), new { name = "x", orgs = new[] { "demo" } });
        using var invalid = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", scopes: "admin"), new { name = "", orgs = new[] { "bad org" }, scopes = new[] { "root" }, ttl = "soon" });
        using var endless = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", scopes: "admin"), new { name = "x", orgs = new[] { "demo" }, ttl = "Infinityd" });
        using var huge = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", scopes: "admin"), new { name = "x", orgs = new[] { "demo" }, ttl = "1e300d" });
        using var moreScopes = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", scopes: "admin"), new { name = "x", orgs = new[] { "demo" }, scopes = new[] { "publish" } });

        Assert.Equal(HttpStatusCode.Forbidden, reader.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, otherOrg.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, everyOrg.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, wider.StatusCode); // a site-1 admin cannot grant every site
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, endless.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, moreScopes.StatusCode); // an admin-only token cannot mint a publishing key
        var errors = JsonNode.Parse(await invalid.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Equal(["name", "orgs", "scopes", "ttl"], errors.Select(e => e.Key).Order());
    }

    [Fact]
    public async Task A_key_made_by_an_expiring_token_expires_with_it()
    {
        using var created = await SendAsync(HttpMethod.Post, "/api/keys", AuthTests.Token("demo", scopes: "admin read", ttl: TimeSpan.FromMinutes(5)), new { name = "short", orgs = new[] { "demo" } });
        var expires = DateTimeOffset.Parse((string)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["details"]!["expires"]!, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddMinutes(4), DateTimeOffset.UtcNow.AddMinutes(6));
    }

    [Fact]
    public async Task A_key_can_open_a_browser_session_and_a_key_with_a_lifetime_expires()
    {
        var (key, _) = await CreateKeyAsync(new { name = "dashboard", orgs = new[] { "demo" }, sites = new[] { "site-3" }, ttl = "1h" });

        using var login = await _host.Client.PostAsJsonAsync("/api/session", new { token = key });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sites");
        request.Headers.Add("Cookie", login.Headers.GetValues("Set-Cookie").Single().Split(';')[0]);
        using var sites = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.NotNull(JsonNode.Parse(await login.Content.ReadAsStringAsync())!["expiresAt"]);
        Assert.Equal(["site-3"], JsonNode.Parse(await sites.Content.ReadAsStringAsync())!.AsArray().Select(s => (string)s!["site"]!));
    }
}
