using System.Net;
using Wattstream.DeviceAuthentication;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Sources.Http;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests;

/// <summary>
/// The whatwatt source answers the Digest qop the device offers (issue 27): <c>auth</c> when offered, <c>auth-int</c>
/// (the body hashed in) when it is the only one.
/// </summary>
public class WhatwattDigestQopTests
{
    private static async Task<WhatwattEmulator> EmulatorAsync(DigestQop qop)
    {
        var emulator = WhatwattEmulator.Create(
            new WhatwattEmulatorOptions { Port = 0, Password = "secret", Qop = qop, Interval = TimeSpan.FromSeconds(0.5), Seed = 5 },
            _ => { });
        await emulator.StartAsync();
        return emulator;
    }

    /// <summary>Notes the qop of every Digest answer sent.</summary>
    private sealed class QopRecorder : DelegatingHandler
    {
        public List<string> Sent { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.Authorization is { Scheme: "Digest", Parameter: { } answer })
            {
                lock (Sent)
                {
                    Sent.Add(HandDigest.Parameter(answer, "qop"));
                }
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task The_source_reads_a_device_that_offers_only_auth_int()
    {
        await using var emulator = await EmulatorAsync(DigestQop.AuthInt);
        await using var harness = new SourceHarness(new SourceOptions
        {
            Id = "home",
            Kind = SourceKind.Whatwatt,
            Url = emulator.BaseAddress,
            Password = "secret",
            Org = "acme",
            Site = "home",
            Der = "62124022449",
            TimeZone = "UTC",
        });

        var readings = await harness.ReadingsAsync(2);

        Assert.All(readings, e => Assert.Equal(DerType.Meter, e.Reading.Type));
        Assert.Equal(0, emulator.Verifier.Failures);
        Assert.True(emulator.Verifier.CredentialsSeen > 0);
    }

    [Theory]
    [InlineData(DigestQop.Auth | DigestQop.AuthInt, "auth")]
    [InlineData(DigestQop.AuthInt, "auth-int")]
    public async Task The_handler_answers_auth_when_offered_and_auth_int_over_the_body_otherwise(DigestQop offered, string answered)
    {
        await using var emulator = await EmulatorAsync(offered);
        var recorder = new QopRecorder { InnerHandler = new SocketsHttpHandler() };
        using var client = new HttpClient(new DeviceAuthClientHandler("secret") { InnerHandler = recorder }) { BaseAddress = emulator.BaseAddress };

        using var first = await client.GetAsync("/api/v1/system");
        using var withBody = new HttpRequestMessage(HttpMethod.Get, "/api/v1/system") { Content = new StringContent("{\"a\":1}") };
        using var second = await client.SendAsync(withBody); // answered up front, its body hashed in under auth-int

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal([answered, answered], recorder.Sent);
        Assert.Equal(0, emulator.Verifier.Failures);
    }
}
