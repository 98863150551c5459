using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Wattstream.DeviceAuthentication;
using Wattstream.Sources.Http;

namespace Wattstream.Server.Tests;

/// <summary>The whatwatt-compatible endpoints authenticate like the device: the device password, Digest or Basic.</summary>
public sealed class DeviceAuthTests : IAsyncLifetime
{
    private const string Password = "device-pass-1";

    private WattstreamHost _host = null!;

    public async Task InitializeAsync() => _host = await AuthTests.StartTokenHostAsync(
        $"--Auth:Device:Password={Password}", "--Auth:Device:Orgs:0=demo", "--Auth:Device:Sites:0=site-2");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Without_credentials_a_device_path_answers_with_the_devices_digest_and_basic_challenges()
    {
        using var response = await _host.Client.GetAsync("/api/v1/report");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenges = response.Headers.WwwAuthenticate.ToArray();
        Assert.Equal(["Digest", "Basic"], challenges.Select(c => c.Scheme));
        Assert.Contains("algorithm=MD5-sess", challenges[0].Parameter, StringComparison.Ordinal);
        Assert.Contains("qop=\"auth,auth-int\"", challenges[0].Parameter, StringComparison.Ordinal);
        Assert.Contains("opaque=", challenges[0].Parameter, StringComparison.Ordinal);
        Assert.Equal("unauthorized", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
    }

    [Fact]
    public async Task Curl_with_anyauth_and_the_device_password_streams_live_events_and_a_wrong_password_is_401()
    {
        var (ok, stream) = await CurlAsync("--anyauth", "-u", $":{Password}", "-N", "--max-time", "4", $"{_host.BaseAddress}api/v1/live");
        var (_, wrong) = await CurlAsync("--anyauth", "-u", ":wrong", "-s", "-o", "/dev/null", "-w", "%{http_code}", $"{_host.BaseAddress}api/v1/live");
        var (_, basic) = await CurlAsync("--basic", "-u", $":{Password}", "-s", $"{_host.BaseAddress}api/v1/report");

        Assert.Contains("event: live", stream, StringComparison.Ordinal);
        Assert.True(ok is 0 or 28, stream); // 28: curl's own --max-time ended the endless stream
        Assert.Equal("401", wrong.Trim());
        Assert.Contains("\"meter\"", basic, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_password_reads_only_its_sites_and_only_on_device_paths()
    {
        using var client = new HttpClient(new DeviceAuthClientHandler(Password, scheme: AuthScheme.Basic) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = _host.BaseAddress };
        var meters = JsonNode.Parse(await (await Get(AuthTests.Token(), "/api/meters")).Content.ReadAsStringAsync())!.AsArray();
        var site2 = meters.First(m => (string?)m!["site"] == "site-2")!["meterNo"]!.ToString();
        var site1 = meters.First(m => (string?)m!["site"] == "site-1")!["meterNo"]!.ToString();

        using var own = await client.GetAsync($"/meters/{site2}/api/v1/report");
        using var other = await client.GetAsync($"/meters/{site1}/api/v1/report");
        using var notADevicePath = await client.GetAsync("/api/sites");
        using var withToken = await Get(AuthTests.Token(sites: "site-1"), $"/meters/{site1}/api/v1/report"); // tokens still work there

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, notADevicePath.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withToken.StatusCode);
    }

    [Fact]
    public async Task An_expired_nonce_is_answered_stale_and_the_client_retries_without_a_failure()
    {
        var handler = new DeviceAuthClientHandler(Password) { InnerHandler = new SocketsHttpHandler() };
        using var client = new HttpClient(handler) { BaseAddress = _host.BaseAddress };
        using (var first = await client.GetAsync("/api/v1/report"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var device = _host.Service<DeviceAuthVerifier>();
        device.ExpireNonces();
        using var second = await client.GetAsync("/api/v1/report");

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(1, device.StaleAnswers);
        Assert.Equal(1, handler.StaleRetries);
        Assert.Equal(0, device.Failures);
    }

    [Fact]
    public async Task A_captured_digest_answer_opens_no_other_path()
    {
        var recorder = new RecordingHandler { InnerHandler = new SocketsHttpHandler() };
        using var client = new HttpClient(new DeviceAuthClientHandler(Password) { InnerHandler = recorder }) { BaseAddress = _host.BaseAddress };
        using (var report = await client.GetAsync("/api/v1/report"))
        {
            Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        }

        using var replay = new HttpRequestMessage(HttpMethod.Get, "/api/v1/system");
        replay.Headers.TryAddWithoutValidation("Authorization", recorder.LastAuthorization);
        using var replayed = await _host.Client.SendAsync(replay);

        Assert.StartsWith("Digest ", recorder.LastAuthorization, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
    }

    private sealed class RecordingHandler : DelegatingHandler
    {
        public string? LastAuthorization { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            LastAuthorization = request.Headers.Authorization?.ToString() ?? LastAuthorization;
            return base.SendAsync(request, cancellationToken);
        }
    }

    private async Task<HttpResponseMessage> Get(string token, string path)
    {
        using var request = AuthTests.Request(HttpMethod.Get, path, token);
        return await _host.Client.SendAsync(request);
    }

    private static async Task<(int ExitCode, string Output)> CurlAsync(params string[] args)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        return (process.ExitCode, await output);
    }
}
