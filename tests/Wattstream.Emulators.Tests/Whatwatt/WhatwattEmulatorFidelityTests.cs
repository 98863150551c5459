using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Wattstream.DeviceAuthentication;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Sources.Http;

namespace Wattstream.Emulators.Tests;

/// <summary>The emulator keeps the seed's settings and Digest details (issue 27): protection, auth-int, the realm.</summary>
public class WhatwattEmulatorFidelityTests
{
    private static async Task<WhatwattEmulator> StartAsync(string? password = "secret", DigestQop qop = DigestQop.Auth | DigestQop.AuthInt)
    {
        var emulator = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = 0, Password = password, Qop = qop, Interval = TimeSpan.FromSeconds(0.2), Seed = 3, DeviceId = "A842E39373A7" }, _ => { });
        await emulator.StartAsync();
        return emulator;
    }

    private static HttpClient Client(WhatwattEmulator emulator, string? password = "secret") =>
        password is null
            ? new HttpClient { BaseAddress = emulator.BaseAddress }
            : new HttpClient(new DeviceAuthClientHandler(password) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = emulator.BaseAddress };

    private static async Task<string> ChallengeAsync(WhatwattEmulator emulator, string path)
    {
        using var plain = new HttpClient { BaseAddress = emulator.BaseAddress };
        using var response = await plain.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        return response.Headers.WwwAuthenticate.Single(c => c.Scheme == "Digest").Parameter!;
    }

    private static async Task<HttpStatusCode> SendAsync(WhatwattEmulator emulator, string uri, string answer, byte[] body)
    {
        using var plain = new HttpClient { BaseAddress = emulator.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, uri) { Content = new ByteArrayContent(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Digest", answer);
        using var response = await plain.SendAsync(request);
        return response.StatusCode;
    }

    [Theory]
    [InlineData("secret", true)]
    [InlineData(null, false)]
    public async Task Settings_say_protection_when_a_password_is_set_and_never_show_it(string? password, bool protection)
    {
        await using var emulator = await StartAsync(password);
        using var client = Client(emulator, password);

        var body = await client.GetStringAsync("/api/v1/settings");

        var settings = JsonNode.Parse(body)!;
        Assert.Equal(protection, (bool)settings["system"]!["protection"]!);
        Assert.Equal("whatwatt-9373A7", (string?)settings["system"]!["host_name"]);
        Assert.Equal(30, (int)settings["services"]!["report_interval"]!);
        Assert.False((bool)settings["services"]!["cloud"]!["what_watt"]!);
        Assert.DoesNotContain("password", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secret", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_realm_is_the_host_name_system_reports_and_both_qops_are_offered()
    {
        await using var emulator = await StartAsync();
        using var client = Client(emulator);

        var challenge = await ChallengeAsync(emulator, "/api/v1/settings");
        var system = JsonNode.Parse(await client.GetStringAsync("/api/v1/system"))!;

        Assert.Equal((string?)system["device"]!["name"], HandDigest.Parameter(challenge, "realm"));
        Assert.Equal("whatwatt-9373A7", HandDigest.Parameter(challenge, "realm"));
        Assert.Equal("auth,auth-int", HandDigest.Parameter(challenge, "qop"));
    }

    [Fact]
    public async Task A_hand_computed_auth_int_answer_is_accepted_and_one_for_another_body_is_refused()
    {
        await using var emulator = await StartAsync();
        const string Uri = "/api/v1/system";
        var challenge = await ChallengeAsync(emulator, Uri);
        var body = "{\"probe\":1}"u8.ToArray();

        var accepted = await SendAsync(emulator, Uri, HandDigest.Answer(challenge, "secret", "GET", Uri, "auth-int", body), body);
        var otherBody = await SendAsync(emulator, Uri, HandDigest.Answer(challenge, "secret", "GET", Uri, "auth-int", body, nc: "00000002"), "{\"probe\":2}"u8.ToArray());
        var withoutBody = await SendAsync(emulator, Uri, HandDigest.Answer(challenge, "secret", "GET", Uri, "auth-int", body, nc: "00000003"), []);

        Assert.Equal(HttpStatusCode.OK, accepted);
        Assert.Equal(HttpStatusCode.Unauthorized, otherBody);
        Assert.Equal(HttpStatusCode.Unauthorized, withoutBody);
        Assert.Equal(2, emulator.Verifier.Failures);
    }

    [Fact]
    public async Task A_device_offering_only_auth_int_refuses_an_auth_answer()
    {
        await using var emulator = await StartAsync(qop: DigestQop.AuthInt);
        const string Uri = "/api/v1/settings";
        var challenge = await ChallengeAsync(emulator, Uri);

        var auth = await SendAsync(emulator, Uri, HandDigest.Answer(challenge, "secret", "GET", Uri, "auth", []), []);
        var authInt = await SendAsync(emulator, Uri, HandDigest.Answer(challenge, "secret", "GET", Uri, "auth-int", [], nc: "00000002"), []);

        Assert.Equal("auth-int", HandDigest.Parameter(challenge, "qop"));
        Assert.Equal(HttpStatusCode.Unauthorized, auth);
        Assert.Equal(HttpStatusCode.OK, authInt);
    }
}
