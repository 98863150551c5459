using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Wattstream.Server.Simulation;
using Wattstream.Sources.Http;

namespace Wattstream.Server.Tests;

/// <summary>
/// Details of the whatwatt seed the hub keeps (issue 27): <c>/api/v1/settings</c> with <c>system.protection</c>, Digest
/// with <c>qop="auth,auth-int"</c> in the realm of the device's host name, and the seed's <c>PowerAlert</c> posting to
/// <c>/api/alerts</c> under a meter's device base URL.
/// </summary>
public sealed class WhatwattFidelityTests
{
    private const string Password = "device-pass-27";

    private static string MeterNo(WattstreamHost host, int site) => host.Service<SimulatorService>().Simulator!.Sites[site - 1].MeterNumber;

    private static HttpClient DeviceClient(WattstreamHost host) =>
        new(new DeviceAuthClientHandler(Password) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<string> DigestChallengeAsync(WattstreamHost host, string path)
    {
        using var response = await host.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var digest = response.Headers.WwwAuthenticate.Single(c => c.Scheme == "Digest");
        return digest.Parameter!;
    }

    private static async Task<HttpStatusCode> SendDigestAsync(WattstreamHost host, string uri, string answer, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri) { Content = new ByteArrayContent(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Digest", answer);
        using var response = await host.Client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task Settings_have_the_documented_members_and_protection_false_without_a_device_password()
    {
        await using var host = await WattstreamHost.StartAsync();
        var meter = MeterNo(host, 2);

        var settings = JsonNode.Parse(await host.Client.GetStringAsync("/api/v1/settings"))!;
        var system = JsonNode.Parse(await host.Client.GetStringAsync("/api/v1/system"))!;
        var underBase = JsonNode.Parse(await host.Client.GetStringAsync($"/meters/{meter}/api/v1/settings"))!;
        var systemUnderBase = JsonNode.Parse(await host.Client.GetStringAsync($"/meters/{meter}/api/v1/system"))!;
        using var unknown = await host.Client.GetAsync("/meters/no-such-meter/api/v1/settings");

        Assert.False((bool)settings["system"]!["protection"]!);
        Assert.Equal(["name", "host_name", "protection", "power_save", "p1_wifi_boost"], settings["system"]!.AsObject().Select(p => p.Key));
        Assert.Equal(
            ["cloud", "local", "broadcast", "other_energy_provider", "report_interval", "log", "meter_proxy", "sd", "modbus", "berry"],
            settings["services"]!.AsObject().Select(p => p.Key));
        Assert.Equal(502, (int)settings["services"]!["modbus"]!["port"]!);
        Assert.Equal((string?)system["device"]!["name"], (string?)settings["system"]!["host_name"]);
        Assert.Equal((string?)systemUnderBase["device"]!["name"], (string?)underBase["system"]!["host_name"]); // each meter its own device
        Assert.Equal("", (string?)settings["system"]!["name"]);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("meter_not_found", (string?)JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!["error"]);
    }

    [Fact]
    public async Task Settings_say_protection_true_with_a_device_password_behind_the_same_auth_and_never_show_it()
    {
        await using var host = await WattstreamHost.StartAsync($"--Auth:Device:Password={Password}");
        using var client = DeviceClient(host);
        var meter = MeterNo(host, 1);

        using var anonymous = await host.Client.GetAsync("/api/v1/settings");
        using var anonymousUnderBase = await host.Client.GetAsync($"/meters/{meter}/api/v1/settings");
        var body = await client.GetStringAsync($"/meters/{meter}/api/v1/settings");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousUnderBase.StatusCode);
        Assert.True((bool)JsonNode.Parse(body)!["system"]!["protection"]!);
        Assert.DoesNotContain(Password, body, StringComparison.Ordinal);
        Assert.DoesNotContain("password", body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_digest_realm_is_the_host_name_system_reports_and_auth_int_is_offered()
    {
        await using var host = await WattstreamHost.StartAsync($"--Auth:Device:Password={Password}");
        using var client = DeviceClient(host);
        var meter1 = MeterNo(host, 1);
        var meter2 = MeterNo(host, 2);

        var challenge = await DigestChallengeAsync(host, "/api/v1/system");
        var challenge1 = await DigestChallengeAsync(host, $"/meters/{meter1}/api/v1/settings");
        var challenge2 = await DigestChallengeAsync(host, $"/meters/{meter2}/api/v1/report");
        var challengeByQuery = await DigestChallengeAsync(host, $"/api/v1/live?meter={meter2}");
        var unknown = await DigestChallengeAsync(host, "/meters/no-such-meter/api/v1/system");
        var system = JsonNode.Parse(await client.GetStringAsync("/api/v1/system"))!;
        var system2 = JsonNode.Parse(await client.GetStringAsync($"/meters/{meter2}/api/v1/system"))!;
        var settings2 = JsonNode.Parse(await client.GetStringAsync($"/api/v1/settings?meter={meter2}"))!;

        Assert.Equal("auth,auth-int", HandDigest.Parameter(challenge, "qop"));
        Assert.Equal((string?)system["device"]!["name"], HandDigest.Parameter(challenge, "realm"));
        Assert.Equal((string?)JsonNode.Parse(await client.GetStringAsync($"/meters/{meter1}/api/v1/system"))!["device"]!["name"], HandDigest.Parameter(challenge1, "realm"));
        Assert.Matches("^whatwatt-[0-9A-F]{6}$", HandDigest.Parameter(challenge2, "realm"));
        Assert.Equal((string?)system2["device"]!["name"], HandDigest.Parameter(challenge2, "realm"));
        Assert.Equal((string?)system2["device"]!["name"], HandDigest.Parameter(challengeByQuery, "realm"));
        Assert.Equal((string?)settings2["system"]!["host_name"], HandDigest.Parameter(challenge2, "realm"));
        Assert.NotEqual(HandDigest.Parameter(challenge1, "realm"), HandDigest.Parameter(challenge2, "realm"));
        Assert.Matches("^whatwatt-[0-9A-F]{6}$", HandDigest.Parameter(unknown, "realm")); // an unknown meter looks like any other
    }

    [Fact]
    public async Task A_set_realm_is_used_for_every_meter()
    {
        await using var host = await WattstreamHost.StartAsync($"--Auth:Device:Password={Password}", "--Auth:Device:Realm=my-hub");

        Assert.Equal("my-hub", HandDigest.Parameter(await DigestChallengeAsync(host, $"/meters/{MeterNo(host, 2)}/api/v1/system"), "realm"));
        Assert.Equal("my-hub", HandDigest.Parameter(await DigestChallengeAsync(host, "/api/v1/settings"), "realm"));
    }

    [Fact]
    public async Task A_hand_computed_auth_int_answer_is_accepted_and_one_for_another_body_is_refused()
    {
        await using var host = await WattstreamHost.StartAsync($"--Auth:Device:Password={Password}");
        var uri = $"/meters/{MeterNo(host, 1)}/api/v1/settings";
        var challenge = await DigestChallengeAsync(host, uri);
        var body = "{\"probe\":1}"u8.ToArray();

        var accepted = await SendDigestAsync(host, uri, HandDigest.Answer(challenge, Password, "GET", uri, "auth-int", body), body);
        var otherBody = await SendDigestAsync(host, uri, HandDigest.Answer(challenge, Password, "GET", uri, "auth-int", body, nc: "00000002"), "{\"probe\":2}"u8.ToArray());
        var emptyBodyHash = await SendDigestAsync(host, uri, HandDigest.Answer(challenge, Password, "GET", uri, "auth-int", [], nc: "00000003"), body);
        var auth = await SendDigestAsync(host, uri, HandDigest.Answer(challenge, Password, "GET", uri, "auth", [], nc: "00000004"), []);
        var wrongPassword = await SendDigestAsync(host, uri, HandDigest.Answer(challenge, "wrong", "GET", uri, "auth-int", [], nc: "00000005"), []);

        Assert.Equal(HttpStatusCode.OK, accepted);
        Assert.Equal(HttpStatusCode.Unauthorized, otherBody);
        Assert.Equal(HttpStatusCode.Unauthorized, emptyBodyHash);
        Assert.Equal(HttpStatusCode.OK, auth);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword);
    }

    [Fact]
    public async Task The_seeds_power_alert_posts_to_api_alerts_under_a_meters_base_url_and_the_site_is_the_meters()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false");
        await PushAsync(host, MeterReading("acme", "home", "m1"), MeterReading("globex", "plant", "m9"));
        const string Alert = """{"type":"high_consumption","message":"High power consumption: 6.20 kW","timestamp":"2026-11-24T07:00:00.000Z","data":{"P_In":6.2,"V_P1":229}}""";

        using var created = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/meters/m1/api/alerts", Alert);
        using var unknown = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/meters/m2/api/alerts", Alert);
        using var otherSite = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/meters/m1/api/alerts", """{"type":"x","message":"elsewhere","site":"plant"}""");
        using var invalid = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/meters/m1/api/alerts", """{"message":"no type"}""");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var alert = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        Assert.Equal("acme", (string?)alert["org"]);
        Assert.Equal("home", (string?)alert["site"]);
        Assert.Equal("m1", (string?)alert["der"]);
        Assert.Equal("reported", (string?)alert["rule"]);
        Assert.Equal(6.2, (double)alert["data"]!["P_In"]!);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("meter_not_found", (string?)JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!["error"]);
        Assert.Equal(HttpStatusCode.BadRequest, otherSite.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var listed = JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts?site=home"))!["alerts"]!.AsArray();
        Assert.Equal((long)alert["id"]!, (long)Assert.Single(listed)!["id"]!);
    }

    [Fact]
    public async Task The_seeds_power_alert_class_in_a_browser_reports_through_a_meters_device_base_url()
    {
        await using var host = await WattstreamHost.StartAsync();
        var meter = MeterNo(host, 1);

        var (exit, output) = await BrowserTests.RunNodeAsync("power-alert.mjs", host.BaseAddress.ToString(), meter);

        Assert.True(exit == 0, output);
        var result = JsonNode.Parse(output.Split('\n').First(l => l.StartsWith('{')))!;
        Assert.Empty(result["consoleErrors"]!.AsArray());
        Assert.Empty(result["pageErrors"]!.AsArray());
        var posted = result["posted"]![0]!;
        Assert.Equal(201, (int)posted["status"]!);
        var alert = posted["alert"]!;
        Assert.Equal("high_consumption", (string?)alert["type"]);
        Assert.Equal(meter, (string?)alert["der"]);
        Assert.Equal("site-1", (string?)alert["site"]);
        Assert.NotNull(alert["data"]!["P_In"]); // the live event the class saw, as it sent it
        var stored = JsonNode.Parse(await host.Client.GetStringAsync("/api/alerts?site=site-1&type=high_consumption"))!["alerts"]!.AsArray();
        Assert.Contains(stored, a => (long)a!["id"]! == (long)alert["id"]!);
    }

    [Fact]
    public async Task A_meters_alerts_need_publish_and_a_meter_the_caller_may_see()
    {
        await using var host = await AuthTests.StartTokenHostAsync("--Simulation:Enabled=false");
        var admin = AuthTests.Token(orgs: "*", scopes: "read publish admin");
        foreach (var reading in new[] { MeterReading("acme", "home", "m1"), MeterReading("globex", "plant", "m9") })
        {
            using var push = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/api/readings", reading, admin);
            Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        }

        const string Alert = """{"type":"low_voltage","message":"Low voltage detected: 207V"}""";
        var acmePublisher = AuthTests.Token(orgs: "acme", scopes: "read publish");

        using var anonymous = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/meters/m1/api/alerts", Alert);
        using var reader = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/meters/m1/api/alerts", Alert, AuthTests.Token(orgs: "acme", scopes: "read"));
        using var othersMeter = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/meters/m9/api/alerts", Alert, acmePublisher);
        using var ownMeter = await AlertTests.SendJsonAsync(host.Client, HttpMethod.Post, "/meters/m1/api/alerts", Alert, acmePublisher);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, reader.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, othersMeter.StatusCode); // not told apart from a meter that does not exist
        Assert.Equal(HttpStatusCode.Created, ownMeter.StatusCode);
        using var globexList = AuthTests.Request(HttpMethod.Get, "/api/alerts", AuthTests.Token(orgs: "globex"));
        using var listed = await host.Client.SendAsync(globexList);
        Assert.Empty(JsonNode.Parse(await listed.Content.ReadAsStringAsync())!["alerts"]!.AsArray());
    }

    private static string MeterReading(string org, string site, string der) =>
        $$"""{"org":"{{org}}","site":"{{site}}","device":"gw","der":"{{der}}","type":"meter","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"W":800,"L1_V":230}""";

    private static async Task PushAsync(WattstreamHost host, params string[] readings)
    {
        using var response = await host.Client.PostAsync("/api/readings", new StringContent(string.Join('\n', readings), Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
