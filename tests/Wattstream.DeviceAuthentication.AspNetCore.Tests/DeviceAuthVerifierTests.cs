using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Wattstream.DeviceAuthentication.AspNetCore.Tests;

/// <summary>The shared device check on its own, answered with digests computed by hand (HandDigest), not by this code.</summary>
public class DeviceAuthVerifierTests
{
    private const string Password = "secret";
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private DeviceAuthVerifier Device(bool digest = true, bool basic = true) =>
        new(new DeviceCredentials(Password, "whatwatt-9373A7", digest, basic, TimeSpan.FromMinutes(5)), _time);

    private static DefaultHttpContext Request(string method, string pathAndQuery, string? authorization = null, byte[]? body = null)
    {
        var context = new DefaultHttpContext();
        var query = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        context.Request.Method = method;
        context.Request.Path = query < 0 ? pathAndQuery : pathAndQuery[..query];
        context.Request.QueryString = query < 0 ? QueryString.Empty : new QueryString(pathAndQuery[query..]);
        context.Request.Body = new MemoryStream(body ?? []);
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        return context;
    }

    // The Digest challenge of a 401 the device writes for this request.
    private static string DigestChallengeOf(DeviceAuthVerifier device, bool stale = false)
    {
        var context = Request("GET", "/api/v1/live");
        device.Challenge(context.Response, stale);
        Assert.Equal(StatusCodes.Status401Unauthorized, context.Response.StatusCode);
        return context.Response.Headers.WWWAuthenticate.Single(h => h!.StartsWith("Digest ", StringComparison.Ordinal))!;
    }

    [Fact]
    public void The_challenge_offers_digest_md5_sess_and_basic_in_the_devices_realm()
    {
        var context = Request("GET", "/api/v1/live");
        Device().Challenge(context.Response, stale: false);

        var challenges = context.Response.Headers.WWWAuthenticate.ToArray();
        Assert.Equal(2, challenges.Length);
        var digest = challenges[0]!;
        Assert.Equal("whatwatt-9373A7", HandDigest.Parameter(digest, "realm"));
        Assert.Equal("MD5-sess", HandDigest.Parameter(digest, "algorithm"));
        Assert.Equal("auth,auth-int", HandDigest.Parameter(digest, "qop"));
        Assert.DoesNotContain("stale", digest, StringComparison.Ordinal);
        Assert.Equal("Basic realm=\"whatwatt-9373A7\"", challenges[1]);
    }

    [Fact]
    public async Task A_hand_computed_answer_passes_once_and_its_replay_is_stale()
    {
        var device = Device();
        var challenge = DigestChallengeOf(device);
        var answer = "Digest " + HandDigest.Answer(challenge, Password, "GET", "/api/v1/live?x=1", "auth", []);

        Assert.Equal(DeviceCheck.Accepted, await device.CheckAsync(Request("GET", "/api/v1/live?x=1", answer).Request));
        Assert.Equal(DeviceCheck.Stale, await device.CheckAsync(Request("GET", "/api/v1/live?x=1", answer).Request));
        Assert.Equal(1, device.StaleAnswers);
        Assert.Equal(0, device.Failures);
    }

    [Fact]
    public async Task A_wrong_password_or_an_answer_for_another_path_is_refused()
    {
        var device = Device();
        var challenge = DigestChallengeOf(device);

        var wrong = "Digest " + HandDigest.Answer(challenge, "guess", "GET", "/api/v1/live", "auth", []);
        Assert.Equal(DeviceCheck.Refused, await device.CheckAsync(Request("GET", "/api/v1/live", wrong).Request));

        var elsewhere = "Digest " + HandDigest.Answer(challenge, Password, "GET", "/api/v1/live", "auth", [], nc: "00000002");
        Assert.Equal(DeviceCheck.Refused, await device.CheckAsync(Request("GET", "/api/v1/system", elsewhere).Request));
        Assert.Equal(2, device.Failures);
    }

    [Fact]
    public async Task Auth_int_covers_the_body()
    {
        var device = Device();
        var challenge = DigestChallengeOf(device);
        var body = Encoding.UTF8.GetBytes("{\"on\":true}");
        var answer = "Digest " + HandDigest.Answer(challenge, Password, "POST", "/api/v1/relay", "auth-int", body);

        Assert.Equal(DeviceCheck.Accepted, await device.CheckAsync(Request("POST", "/api/v1/relay", answer, body).Request));
        var changed = Encoding.UTF8.GetBytes("{\"on\":false}");
        Assert.Equal(DeviceCheck.Refused, await device.CheckAsync(Request("POST", "/api/v1/relay", answer, changed).Request));
    }

    [Fact]
    public async Task A_nonce_past_its_lifetime_is_stale_and_the_new_challenge_says_so()
    {
        var device = Device();
        var challenge = DigestChallengeOf(device);
        _time.Advance(TimeSpan.FromMinutes(6));
        var answer = "Digest " + HandDigest.Answer(challenge, Password, "GET", "/api/v1/live", "auth", []);

        Assert.Equal(DeviceCheck.Stale, await device.CheckAsync(Request("GET", "/api/v1/live", answer).Request));
        Assert.Equal("true", HandDigest.Parameter(DigestChallengeOf(device, stale: true), "stale"));
    }

    [Theory]
    [InlineData(":secret", DeviceCheck.Accepted)]
    [InlineData("anyone:secret", DeviceCheck.Accepted)] // the device ignores the user name
    [InlineData(":guess", DeviceCheck.Refused)]
    public async Task Basic_checks_the_password(string credentials, DeviceCheck expected)
    {
        var header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials));
        Assert.Equal(expected, await Device().CheckAsync(Request("GET", "/api/v1/live", header).Request));
    }

    [Fact]
    public async Task A_scheme_the_device_does_not_take_is_no_credentials()
    {
        var header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(":secret"));
        Assert.Equal(DeviceCheck.None, await Device(basic: false).CheckAsync(Request("GET", "/api/v1/live", header).Request));
    }
}
