using System.Net;
using System.Text.Json.Nodes;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Sources.Http;

namespace Wattstream.Emulators.Tests;

public class WhatwattEmulatorTests
{
    private static async Task<WhatwattEmulator> StartAsync(string? password = "secret", DeviceAuth auth = DeviceAuth.Digest, double interval = 0.2)
    {
        var emulator = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = 0, Password = password, Auth = auth, Interval = TimeSpan.FromSeconds(interval), Seed = 3 }, _ => { });
        await emulator.StartAsync();
        return emulator;
    }

    private static HttpClient Client(WhatwattEmulator emulator, string password, out DeviceAuthClientHandler handler)
    {
        handler = new DeviceAuthClientHandler(password) { InnerHandler = new SocketsHttpHandler() };
        return new HttpClient(handler) { BaseAddress = emulator.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
    }

    [Theory]
    [InlineData(DeviceAuth.Digest)]
    [InlineData(DeviceAuth.Basic)]
    public async Task Curl_anyauth_with_the_password_reads_the_report(DeviceAuth auth)
    {
        await using var emulator = await StartAsync(auth: auth);
        var url = new Uri(emulator.BaseAddress, "/api/v1/report").ToString();
        await Eventually.UntilAsync(async () => (await Curl.GetAsync("--anyauth", "-u", ":secret", url)).Status == 200, "the emulator's first report");

        var (exit, body, status) = await Curl.GetAsync("--anyauth", "-u", ":secret", url);

        Assert.Equal(0, exit);
        Assert.Equal(200, status);
        var report = JsonNode.Parse(body)!;
        Assert.NotNull(report["report"]!["instantaneous_power"]!["active"]!["positive"]!["total"]);
        Assert.Equal("OK", (string?)report["meter"]!["status"]);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_with_a_digest_challenge()
    {
        await using var emulator = await StartAsync();

        var (_, _, status) = await Curl.GetAsync("--anyauth", "-u", ":wrong", new Uri(emulator.BaseAddress, "/api/v1/system").ToString());
        using var plain = new HttpClient { BaseAddress = emulator.BaseAddress };
        using var response = await plain.GetAsync("/api/v1/system");

        Assert.Equal(401, status);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = response.Headers.WwwAuthenticate.Single();
        Assert.Equal("Digest", challenge.Scheme);
        Assert.Contains("algorithm=MD5-sess", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains("qop=\"auth,auth-int\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains($"realm=\"{new WhatwattEmulatorOptions().HostName}\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains("opaque=", challenge.Parameter, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_nonce_is_answered_stale_and_retried_once_with_success()
    {
        await using var emulator = await StartAsync();
        using var client = Client(emulator, "secret", out var handler);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/system")).StatusCode);

        emulator.Verifier.ExpireNonces();
        using var response = await client.GetAsync("/api/v1/system");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, handler.StaleRetries);
        Assert.Equal(1, emulator.Verifier.StaleAnswers);
        Assert.Equal(0, emulator.Verifier.Failures);
    }

    [Fact]
    public async Task Live_sends_only_live_events_without_ids_retry_or_heartbeats()
    {
        await using var emulator = await StartAsync(password: null);
        using var client = new HttpClient { BaseAddress = emulator.BaseAddress };
        using var response = await client.GetAsync("/api/v1/live", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        var lines = new List<string>();
        while (lines.Count(l => l.StartsWith("data:", StringComparison.Ordinal)) < 3)
        {
            lines.Add((await reader.ReadLineAsync())!);
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.All(lines.Where(l => l.Length > 0), l => Assert.True(l == "event: live" || l.StartsWith("data: {", StringComparison.Ordinal), l));
    }

    [Fact]
    public async Task A_new_client_takes_the_stream_from_the_previous_one()
    {
        await using var emulator = await StartAsync(password: null);
        using var first = new HttpClient { BaseAddress = emulator.BaseAddress };
        using var second = new HttpClient { BaseAddress = emulator.BaseAddress };
        using var a = await first.GetAsync("/api/v1/live", HttpCompletionOption.ResponseHeadersRead);
        var streamA = await a.Content.ReadAsStreamAsync();
        var bytesA = 0;
        var readA = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            int n;
            while ((n = await streamA.ReadAsync(buffer)) > 0)
            {
                Interlocked.Add(ref bytesA, n);
            }
        });
        await Eventually.UntilAsync(() => Volatile.Read(ref bytesA) > 0, "the first client's first event");

        using var b = await second.GetAsync("/api/v1/live", HttpCompletionOption.ResponseHeadersRead);

        await readA.WaitAsync(TimeSpan.FromSeconds(5)); // the first stream ended
        Assert.Equal(1, emulator.Takeovers);
        using var readerB = new StreamReader(await b.Content.ReadAsStreamAsync());
        Assert.Equal("event: live", await readerB.ReadLineAsync());
    }
}
