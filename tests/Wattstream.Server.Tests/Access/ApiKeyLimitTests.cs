using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary><c>Auth:MaxKeysPerOrg</c> on one node: an org's keys are capped, other orgs are not affected, a revoke frees a place.</summary>
public sealed class ApiKeyLimitTests : IAsyncLifetime
{
    private static readonly string Admin = AuthTests.Token("demo,acme", scopes: "admin read");

    private WattstreamHost _host = null!;

    public async Task InitializeAsync() => _host = await AuthTests.StartTokenHostAsync("--Simulation:Enabled=false", "--Auth:MaxKeysPerOrg=2");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonNode Body)> CreateAsync(params string[] orgs)
    {
        using var request = AuthTests.Request(HttpMethod.Post, "/api/keys", Admin);
        request.Content = JsonContent.Create(new { name = "gateway", orgs, scopes = new[] { "read" } });
        using var response = await _host.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    [Fact]
    public async Task An_org_at_its_key_limit_gets_409_too_many_keys_until_it_revokes_one_and_other_orgs_are_unaffected()
    {
        var (first, made) = await CreateAsync("demo");
        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Equal(HttpStatusCode.Created, (await CreateAsync("demo", "acme")).Status); // counts for both orgs

        var (status, problem) = await CreateAsync("demo");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("too_many_keys", (string?)problem["error"]);
        Assert.Contains("Auth:MaxKeysPerOrg", (string?)problem["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, (await CreateAsync("acme", "demo")).Status);
        Assert.Equal(HttpStatusCode.Created, (await CreateAsync("acme")).Status); // acme holds one of its two
        using (var metrics = AuthTests.Request(HttpMethod.Get, "/metrics", AuthTests.Token("*", scopes: "admin")))
        using (var response = await _host.Client.SendAsync(metrics))
        {
            Assert.Contains("wattstream_auth_keys_refused_total 2", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var revoke = AuthTests.Request(HttpMethod.Delete, $"/api/keys/{(string)made["details"]!["id"]!}", Admin))
        using (var revoked = await _host.Client.SendAsync(revoke))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Created, (await CreateAsync("demo")).Status);
    }
}
