using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Wattstream.Server.Tests;

/// <summary>
/// Issue 25, as a hostile caller on loopback probes access: addresses the configuration did not name, streams that are
/// WebSockets, a throttle that must not lock out honest callers, tokens in disguised query names, refusals that must be
/// counted.
/// </summary>
public class HostileAccessTests
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Opens a WebSocket; the HTTP status of the upgrade answer (101 when accepted).</summary>
    private static async Task<(HttpStatusCode Status, ClientWebSocket Socket)> UpgradeAsync(WattstreamHost host, string path)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        var uri = new UriBuilder(new Uri(host.BaseAddress, path)) { Scheme = "ws" }.Uri;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(uri, cts.Token);
        }
        catch (WebSocketException)
        {
            // Refused before the upgrade: the status says why.
        }

        return (socket.HttpStatusCode, socket);
    }

    [Fact]
    public async Task WebSockets_count_against_the_callers_stream_limit_and_are_refused_before_the_upgrade()
    {
        await using var host = await AuthTests.StartTokenHostAsync("--Limits:MaxStreamsPerCaller=3");
        var token = AuthTests.Token();
        using var sse = LimitsTests.Client(host.BaseAddress, token);
        var held = new List<ClientWebSocket>();
        try
        {
            using var stream = await sse.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/sse/meters"), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            var (first, ws) = await UpgradeAsync(host, $"/ws?access_token={token}");
            held.Add(ws);
            var (second, dersim) = await UpgradeAsync(host, $"/api/dersim/ws/telemetry?access_token={token}");
            held.Add(dersim);
            Assert.Equal(HttpStatusCode.SwitchingProtocols, first);
            Assert.Equal(HttpStatusCode.SwitchingProtocols, second);

            // Three streams held (SSE, /ws, DERSim): every kind of fourth is refused, before the upgrade.
            var (fourthWs, refusedWs) = await UpgradeAsync(host, $"/ws?access_token={token}");
            var (fourthDerSim, refusedDerSim) = await UpgradeAsync(host, $"/api/dersim/ws/telemetry?access_token={token}");
            held.Add(refusedWs);
            held.Add(refusedDerSim);
            using var fourthSse = await sse.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/sse/meters"), HttpCompletionOption.ResponseHeadersRead);

            Assert.Equal(HttpStatusCode.TooManyRequests, fourthWs);
            Assert.Equal(HttpStatusCode.TooManyRequests, fourthDerSim);
            Assert.Equal(HttpStatusCode.TooManyRequests, fourthSse.StatusCode);
            Assert.NotEqual(WebSocketState.Open, refusedWs.State);

            // Another caller is not affected.
            var (other, otherWs) = await UpgradeAsync(host, $"/ws?access_token={AuthTests.TokenFor("someone-else")}");
            held.Add(otherWs);
            Assert.Equal(HttpStatusCode.SwitchingProtocols, other);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task WebSockets_count_against_the_addresss_stream_limit()
    {
        await using var host = await WattstreamHost.StartAsync("--Limits:MaxStreamsPerIp=2");
        var held = new List<ClientWebSocket>();
        try
        {
            var statuses = new List<HttpStatusCode>();
            foreach (var path in new[] { "/ws", "/api/dersim/ws/telemetry", "/ws", "/api/dersim/ws/telemetry" })
            {
                var (status, socket) = await UpgradeAsync(host, path);
                statuses.Add(status);
                held.Add(socket);
            }

            Assert.Equal([HttpStatusCode.SwitchingProtocols, HttpStatusCode.SwitchingProtocols, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task After_many_refused_credentials_only_further_attempts_are_refused_never_a_valid_token_health_or_the_dashboard()
    {
        await using var host = await AuthTests.StartTokenHostAsync("--Limits:AuthFailuresPerMinutePerIp=5");
        var wrong = AuthTests.Token(secret: "a-secret-that-this-hub-does-not-know!!");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var login = await host.Client.PostAsync("/api/session", new StringContent($$"""{"token":"{{wrong}}"}""", Encoding.UTF8, "application/json"));
            statuses.Add(login.StatusCode);
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), statuses.Take(5));
        Assert.All(statuses.Skip(5), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));

        // The address is over its limit: a guess is still refused, with a header credential too.
        using (var guess = AuthTests.Request(HttpMethod.Get, "/api/sites", wrong))
        using (var refused = await host.Client.SendAsync(guess))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("too_many_failures", (string?)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]);
        }

        // Everyone else at that address is served: a valid token, a valid login, health, readiness, the dashboard.
        using (var valid = AuthTests.Request(HttpMethod.Get, "/api/sites", AuthTests.Token()))
        using (var sites = await host.Client.SendAsync(valid))
        {
            Assert.True(sites.StatusCode == HttpStatusCode.OK, await sites.Content.ReadAsStringAsync());
        }

        using var rightLogin = await host.Client.PostAsync("/api/session", new StringContent($$"""{"token":"{{AuthTests.Token()}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, rightLogin.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/")).StatusCode);
        using (var metrics = AuthTests.Request(HttpMethod.Get, "/metrics", AuthTests.Token("*", scopes: "admin")))
        {
            Assert.Contains("wattstream_auth_throttled_total 4", await (await host.Client.SendAsync(metrics)).Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("access%5Ftoken")]
    [InlineData("ACCESS%5fTOKEN")]
    [InlineData("%61ccess_token")]
    [InlineData("%61%63%63%65%73%73%5F%74%6F%6B%65%6E")]
    public async Task A_token_under_a_percent_encoded_parameter_name_is_taken_out_of_the_logged_url(string name)
    {
        var logs = new ConcurrentQueue<string>();
        await using var host = await WattstreamHost.StartAsync(
            b => b.Logging.AddProvider(new CapturingLoggerProvider(logs)).AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace),
            "--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}", "--Logging:LogLevel:Default=Trace");
        var token = AuthTests.Token();

        using var response = await host.Client.GetAsync($"/api/sites?{name}={token}&marker=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // ASP.NET Core decodes the name: so does the scrubber, which hands the token on
        await Eventually.UntilAsync(() => logs.Any(l => l.Contains("marker=1", StringComparison.Ordinal)), "the request is logged", TimeSpan.FromSeconds(5));
        Assert.DoesNotContain(logs, l => l.Contains(token.Split('.')[2], StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_refused_reading_is_counted_by_reason()
    {
        await using var host = await WattstreamHost.StartAsync("--Hub:MaxDersPerOrg=2", "--Simulation:Enabled=false");
        string Reading(string org, string der, object w) => $$"""{"org":"{{org}}","site":"s","device":"d","der":"{{der}}","type":"meter","timestamp":{{Now}},"W":{{w}}}""";
        async Task<HttpStatusCode> PushAsync(string ndjson)
        {
            using var response = await host.Client.PostAsync("/api/readings", new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson"));
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.UnprocessableEntity, await PushAsync(string.Join('\n', Reading("flood", "m1", 1), Reading("flood", "m2", 1), Reading("flood", "m3", 1))));
        Assert.Equal(HttpStatusCode.BadRequest, await PushAsync(string.Join('\n', Reading("o", "m1", 1), Reading("o", "m2", "\"oops\""))));
        Assert.Equal(HttpStatusCode.BadRequest, await PushAsync("{not json"));

        var metrics = await host.Client.GetStringAsync("/metrics");
        Assert.Contains("wattstream_readings_rejected_total{reason=\"der_limit\"} 3", metrics, StringComparison.Ordinal);
        Assert.Contains("wattstream_readings_rejected_total{reason=\"invalid\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("wattstream_readings_rejected_total{reason=\"malformed\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "HTTP Digest MD5-sess is what the device speaks.")]
    public async Task A_digest_answer_is_accepted_once_a_replayed_nonce_count_gets_stale_and_a_new_count_passes()
    {
        const string password = "device-pass-1";
        await using var host = await AuthTests.StartTokenHostAsync($"--Auth:Device:Password={password}", "--Auth:Device:Orgs:0=demo");
        using var challenge = await host.Client.GetAsync("/api/v1/report");
        var digest = challenge.Headers.WwwAuthenticate.First(c => c.Scheme == "Digest").Parameter!;
        var parameters = Wattstream.DeviceAuthentication.AuthParameters.Parse(digest);

        async Task<HttpResponseMessage> AnswerAsync(uint nc)
        {
            static string Md5(string text) => Convert.ToHexString(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
            const string cnonce = "0a4f113b";
            var (nonce, realm, uri, count) = (parameters["nonce"], parameters["realm"], "/api/v1/report", nc.ToString("x8", System.Globalization.CultureInfo.InvariantCulture));
            var ha1 = Md5($"{Md5($":{realm}:{password}")}:{nonce}:{cnonce}");
            var response = Md5($"{ha1}:{nonce}:{count}:{cnonce}:auth:{Md5($"GET:{uri}")}");
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.TryAddWithoutValidation("Authorization",
                $"Digest username=\"\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm=MD5-sess, qop=auth, nc={count}, cnonce=\"{cnonce}\", response=\"{response}\", opaque=\"{parameters["opaque"]}\"");
            return await host.Client.SendAsync(request);
        }

        using var first = await AnswerAsync(1);
        using var replay = await AnswerAsync(1);
        using var third = await AnswerAsync(3);
        using var overtaken = await AnswerAsync(2); // a request that was overtaken by a later one still passes, once
        using var overtakenAgain = await AnswerAsync(2);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        Assert.Contains("stale=true", replay.Headers.WwwAuthenticate.First(c => c.Scheme == "Digest").Parameter, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(HttpStatusCode.OK, overtaken.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, overtakenAgain.StatusCode);
    }

    [Fact]
    public async Task A_hub_without_tokens_that_Kestrel_bound_beyond_loopback_refuses_to_start_whatever_configured_it()
    {
        // Listening configured in code: no setting the configuration check could read names it.
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-test-{Guid.NewGuid():N}");
        var app = WattstreamApp.Build(["--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={data}", "--Logging:LogLevel:Default=None"],
            b => b.WebHost.ConfigureKestrel(k => k.ListenAnyIP(0)));
        try
        {
            var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
            Assert.Contains("is reachable from other machines", refused.Message, StringComparison.Ordinal);
            Assert.Contains("Auth:Mode is none", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("ASPNETCORE_HTTP_PORTS", null)]
    [InlineData("DOTNET_HTTP_PORTS", null)]
    [InlineData("ASPNETCORE_HTTPS_PORTS", null)]
    [InlineData(null, "--http_ports")]
    public async Task Ports_on_every_address_without_tokens_stop_the_start_with_the_auth_message(string? variable, string? option)
    {
        var port = LoopbackPort.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-test-{Guid.NewGuid():N}");
        string[] args = option is null ? [$"--Storage:DataDirectory={data}"] : [option, port, $"--Storage:DataDirectory={data}"];
        var environment = variable is null ? null : new Dictionary<string, string> { [variable] = port };

        var (exit, output, errors) = await WattstreamProcess.RunAsync(args, environment: environment);

        Assert.Equal(1, exit);
        Assert.Contains("Auth:Mode is none", errors, StringComparison.Ordinal);
        Assert.Contains($"*:{port}", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal); // no stack trace
        Assert.DoesNotContain("listening on", output, StringComparison.Ordinal);
        if (Directory.Exists(data))
        {
            Directory.Delete(data, recursive: true);
        }
    }
}

/// <summary>One error shape everywhere: every 4xx a client can provoke is a problem document with <c>error</c> and <c>message</c>.</summary>
public class ErrorShapeSweepTests(SharedHost shared) : IClassFixture<SharedHost>
{
    [Theory]
    [InlineData("GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 404)]
    [InlineData("GET // HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 404)]
    [InlineData("GET /dashboard/nope.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 404)]
    [InlineData("POST /api/sites HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", 405)]
    [InlineData("DELETE /api/meters HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 405)]
    [InlineData("POST /api/readings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/jsonx\r\nContent-Length: 2\r\n\r\n{}", 415)]
    [InlineData("POST /api/alert-rules HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}", 415)]
    [InlineData("POST /api/alert-rules HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 40000000\r\n\r\n{}", 413)]
    [InlineData("GET /api/sites HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {big}\r\n\r\n", 431)]
    [InlineData("GET /api/sites?q={big} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414)]
    [InlineData("GET /%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400)]
    [InlineData("GET /api/sites HTTP/1.1\r\nHost: evil.example\r\n\r\n", 400)]
    public async Task Every_error_a_client_can_provoke_is_the_documented_problem(string raw, int status)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(shared.Host.BaseAddress.Host, shared.Host.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(raw.Replace("{big}", new string('a', 40_000), StringComparison.Ordinal)));
        await stream.FlushAsync();

        var (head, body) = await ReadResponseAsync(stream);

        Assert.StartsWith($"HTTP/1.1 {status} ", head, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/problem+json", head, StringComparison.OrdinalIgnoreCase);
        var problem = JsonNode.Parse(body)!;
        Assert.Equal(status, (int)problem["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["error"]), body);
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["message"]), body);
    }

    // One response: the head, then a body of Content-Length bytes (or chunked), read without waiting for the connection's end.
    private static async Task<(string Head, string Body)> ReadResponseAsync(System.Net.Sockets.NetworkStream stream)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new List<byte>();
        var chunk = new byte[8192];
        int headEnd;
        while ((headEnd = IndexOf(buffer, "\r\n\r\n"u8.ToArray())) < 0)
        {
            var read = await stream.ReadAsync(chunk, cts.Token);
            Assert.True(read > 0, "the connection closed before the response's head");
            buffer.AddRange(chunk.AsSpan(0, read).ToArray());
        }

        var head = Encoding.ASCII.GetString(buffer.GetRange(0, headEnd).ToArray());
        var rest = buffer.Skip(headEnd + 4).ToList();
        var length = head.Split("\r\n").Select(l => l.Split(':', 2)).FirstOrDefault(p => p[0].Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) is { } header
            ? int.Parse(header[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)
            : -1;
        var chunked = head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase);
        while ((length >= 0 && rest.Count < length) || (chunked && IndexOf(rest, "\r\n0\r\n\r\n"u8.ToArray()) < 0))
        {
            var read = await stream.ReadAsync(chunk, cts.Token);
            if (read == 0)
            {
                break;
            }

            rest.AddRange(chunk.AsSpan(0, read).ToArray());
        }

        var body = Encoding.UTF8.GetString(rest.ToArray());
        if (chunked)
        {
            // One chunk: its size line, then the JSON.
            body = body[(body.IndexOf("\r\n", StringComparison.Ordinal) + 2)..body.IndexOf("\r\n0\r\n", StringComparison.Ordinal)];
        }

        return (head, length >= 0 ? body[..Math.Min(body.Length, length)] : body);
    }

    private static int IndexOf(List<byte> haystack, byte[] needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Count; i++)
        {
            if (haystack.Skip(i).Take(needle.Length).SequenceEqual(needle))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>A page on another port of the same host must not ride the dashboard's session cookie (issue 25, finding 8).</summary>
public class SessionCookieOriginTests
{
    private static async Task<string> SessionCookieAsync(WattstreamHost host, string token)
    {
        using var login = await host.Client.PostAsync("/api/session", new StringContent($$"""{"token":"{{token}}"}""", Encoding.UTF8, "application/json"));
        login.EnsureSuccessStatusCode();
        return login.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
    }

    [Fact]
    public async Task With_tokens_a_local_origin_gets_cors_without_credentials_and_a_listed_origin_with_them()
    {
        await using var host = await AuthTests.StartTokenHostAsync("--Cors:AllowedOrigins:0=https://dashboard.example");
        async Task<HttpResponseMessage> PreflightAsync(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Options, "/api/sites");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "GET");
            return await host.Client.SendAsync(request);
        }

        using var local = await PreflightAsync("http://127.0.0.1:5173");
        using var listed = await PreflightAsync("https://dashboard.example");

        Assert.Equal("http://127.0.0.1:5173", local.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(local.Headers.Contains("Access-Control-Allow-Credentials"));
        Assert.Equal("true", listed.Headers.GetValues("Access-Control-Allow-Credentials").Single());
    }

    [Fact]
    public async Task A_state_change_signed_in_by_the_cookie_needs_the_hubs_own_origin()
    {
        await using var host = await AuthTests.StartTokenHostAsync();
        var token = AuthTests.Token(scopes: "read publish");
        var cookie = await SessionCookieAsync(host, token);
        var own = $"http://{host.BaseAddress.Authority}";
        async Task<HttpResponseMessage> PushAsync(string? origin, string? fetchSite, bool bearer = false)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/readings")
            {
                Content = new StringContent($$"""{"org":"demo","site":"csrf","device":"d","der":"m","type":"meter","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"W":1}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("Cookie", cookie);
            if (origin is not null)
            {
                request.Headers.Add("Origin", origin);
            }

            if (fetchSite is not null)
            {
                request.Headers.Add("Sec-Fetch-Site", fetchSite);
            }

            if (bearer)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            return await host.Client.SendAsync(request);
        }

        using var otherPort = await PushAsync("http://127.0.0.1:9", null);
        using var sameSite = await PushAsync("http://127.0.0.1:9", "same-site");
        using var ownByOrigin = await PushAsync(own, null);
        using var ownByFetchSite = await PushAsync("http://127.0.0.1:9", "same-origin");
        using var withBearer = await PushAsync("http://127.0.0.1:9", "cross-site", bearer: true);

        Assert.Equal(HttpStatusCode.Forbidden, otherPort.StatusCode);
        Assert.Equal("cross_origin", (string?)JsonNode.Parse(await otherPort.Content.ReadAsStringAsync())!["error"]);
        Assert.Equal(HttpStatusCode.Forbidden, sameSite.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ownByOrigin.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ownByFetchSite.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withBearer.StatusCode); // a header credential is no ambient one
    }

    [Fact]
    public async Task A_page_on_another_port_can_neither_read_nor_write_with_the_dashboards_session_in_Chromium()
    {
        await using var hub = await AuthTests.StartTokenHostAsync();
        var page = WebApplication.CreateSlimBuilder();
        page.WebHost.UseUrls("http://127.0.0.1:0");
        await using var pageApp = page.Build();
        pageApp.MapGet("/", () => Microsoft.AspNetCore.Http.Results.Content("<!doctype html><html><head><link rel=\"icon\" href=\"data:,\"></head><body>elsewhere</body></html>", "text/html"));
        await pageApp.StartAsync();
        var hubUrl = hub.BaseAddress.ToString().TrimEnd('/');

        var (exitCode, output) = await BrowserTests.RunNodeAsync("cookie-cross-origin.mjs", hubUrl, AuthTests.Token(scopes: "read publish"), pageApp.Urls.Single());

        Assert.True(exitCode == 0, output);
        var result = JsonNode.Parse(output.Split('\n').First(l => l.StartsWith('{')))!;
        // On the hub's own origin the session works (so what follows is the cookie refused, not a missing one).
        Assert.Equal(200, (int)result["login"]!);
        Assert.Equal(200, (int)result["sameOrigin"]!["sites"]!);
        Assert.Equal(200, (int)result["sameOrigin"]!["push"]!);
        var cross = result["crossOrigin"]!;
        Assert.Null(cross["sites"]!["body"]); // the browser refused to hand the answer to the page
        Assert.Null(cross["push"]!["status"]);
        Assert.False((bool)cross["ws"]!["opened"]!, cross.ToJsonString());
        Assert.Equal(0, (int)cross["ws"]!["messages"]!);
        Assert.Equal(0, (int)cross["sse"]!["received"]!);
        var ders = hub.Service<Wattstream.Hub.TelemetryHub>().Ders.Select(d => d.Address.Der).ToArray();
        Assert.Contains("own", ders);
        Assert.DoesNotContain("csrf", ders);
        Assert.DoesNotContain("csrf-plain", ders);
    }
}

/// <summary>Issue 27: <c>HEAD</c> wherever <c>GET</c> is served, streams included; the README's emulator command runs.</summary>
public class HeadAndFirstRunTests(SharedHost shared) : IClassFixture<SharedHost>
{
    [Fact]
    public async Task Every_get_endpoint_of_the_api_description_answers_head_with_its_headers_and_no_body()
    {
        var host = shared.Host;
        var meter = (string)JsonNode.Parse(await host.Client.GetStringAsync("/api/meters"))!.AsArray()[0]!["meterNo"]!;
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        var paths = document["paths"]!.AsObject().Where(p => p.Value!["get"] is not null).Select(p => p.Key).ToArray();
        Assert.True(paths.Length > 20, $"only {paths.Length} GET paths described");
        var failures = new List<string>();
        foreach (var template in paths.Append("/").Append("/readyz"))
        {
            var path = template.Replace("{siteId}", "site-1", StringComparison.Ordinal).Replace("{site}", "site-1", StringComparison.Ordinal)
                .Replace("{meter}", meter, StringComparison.Ordinal).Replace("{meterId}", meter, StringComparison.Ordinal).Replace("{id}", "nope", StringComparison.Ordinal);
            try
            {
                using var get = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                using var head = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path), HttpCompletionOption.ResponseContentRead, cts.Token);
                var body = await head.Content.ReadAsByteArrayAsync(cts.Token); // a stream must have ended for this to return
                if (head.StatusCode != get.StatusCode || body.Length != 0 || head.Content.Headers.ContentType?.MediaType != get.Content.Headers.ContentType?.MediaType)
                {
                    failures.Add($"{path}: GET {(int)get.StatusCode} {get.Content.Headers.ContentType?.MediaType}, HEAD {(int)head.StatusCode} {head.Content.Headers.ContentType?.MediaType} with {body.Length} bytes");
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                failures.Add($"{path}: {e.GetType().Name} {e.Message}");
            }
        }

        Assert.Empty(failures);
    }

    [Fact]
    public async Task The_readmes_emulator_command_serves_a_device_with_the_password()
    {
        // Port 0: the emulator binds a free port itself and prints where it listens.
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "wattstream.dll"), "emulate", "whatwatt", "--port", "0", "--password", "secret" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            var banner = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var listening = System.Text.RegularExpressions.Regex.Match(banner ?? "", @" on (http://127\.0\.0\.1:\d+/?)");
            Assert.True(listening.Success, $"the emulator said {banner}: {(process.HasExited ? await errors : "")}");
            _ = process.StandardOutput.ReadToEndAsync(); // the rest, so the emulator never blocks on a full pipe
            using var client = new HttpClient(new Wattstream.Sources.Http.DeviceAuthClientHandler("secret") { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = new Uri(listening.Groups[1].Value) };
            HttpStatusCode? status = null;
            await Eventually.UntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    return true;
                }

                try
                {
                    using var report = await client.GetAsync("/api/v1/report");
                    status = report.StatusCode;
                    return true;
                }
                catch (HttpRequestException)
                {
                    return false; // not listening yet
                }
            }, "the emulator answers or exits", TimeSpan.FromSeconds(30));

            Assert.False(process.HasExited, $"the emulator exited {(process.HasExited ? process.ExitCode : 0)}: {(process.HasExited ? await errors : "")}");
            Assert.Equal(HttpStatusCode.OK, status);

            // SIGTERM (systemd's stop, timeout(1)) ends it cleanly: exit 0, no unhandled exception from a signal handler.
            using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.DoesNotContain("Unhandled exception", await errors, StringComparison.Ordinal);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
        }
    }
}
