using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wattstream.Hub;
using Wattstream.Storage;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Server.Tests;

/// <summary>The hub probed as an attacker on loopback would (issue 13): bounded resources, no 500, no injection.</summary>
public class HardeningTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private const string Injection = "<img/src=\"x\"/onerror=\"alert(document['domain'])\"";

    private WattstreamHost Host => shared.Host;

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static StringContent Json(string body, string type = "application/json") => new(body, Encoding.UTF8, type);

    private static async Task<string?> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"];
    }

    [Theory]
    [InlineData(Injection)]
    [InlineData("a.b")]
    [InlineData("x y")]
    [InlineData("ünïcode")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // 65 characters
    public async Task Ids_outside_the_grammar_are_refused(string der)
    {
        var body = new JsonObject { ["org"] = "o", ["site"] = "s", ["device"] = "d", ["der"] = der, ["type"] = "meter", ["timestamp"] = Now, ["W"] = 1 };

        using var response = await Host.Client.PostAsync("/api/readings", Json(body.ToJsonString()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'der' must be an id of", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/history?der=62124022441&to=0001-01-01T00:00:00Z")]
    [InlineData("/api/history?der=62124022441&from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z")]
    [InlineData("/api/history?der=62124022441&to=99999999999999999")]
    [InlineData("/api/history?der=62124022441&to=253402300800000")]
    public async Task Absurd_time_bounds_are_a_400_not_a_500(string path)
    {
        using var response = await Host.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_time", await ErrorOf(response));
    }

    [Fact]
    public async Task A_push_with_a_member_given_twice_is_a_400()
    {
        using var response = await Host.Client.PostAsync("/api/readings", Json($$"""{"org":"o","site":"s","device":"d","der":"m","type":"meter","timestamp":{{Now}},"W":1,"W":2}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("malformed_json", await ErrorOf(response));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task State_changing_requests_need_a_json_content_type(string? type)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes($$"""{"org":"o","site":"s","device":"d","der":"m","type":"meter","timestamp":{{Now}},"W":1}"""));
        if (type is not null)
        {
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
        }

        using var response = await Host.Client.PostAsync("/api/readings", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("unsupported_media_type", await ErrorOf(response));
    }

    [Fact]
    public async Task A_request_for_another_host_name_is_refused_while_bound_to_loopback()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sites");
        request.Headers.Host = "evil.example";

        using var response = await Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var localhost = new HttpRequestMessage(HttpMethod.Get, "/api/sites");
        localhost.Headers.Host = $"localhost:{Host.BaseAddress.Port}";
        Assert.Equal(HttpStatusCode.OK, (await Host.Client.SendAsync(localhost)).StatusCode);
    }

    [Fact]
    public async Task The_dashboard_is_served_with_a_strict_content_security_policy()
    {
        using var response = await Host.Client.GetAsync("/");

        var csp = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp.Split(';').Single(d => d.Trim().StartsWith("script-src", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }

    [Fact]
    public async Task Listings_come_a_page_at_a_time()
    {
        using var response = await Host.Client.GetAsync("/api/meters?limit=2&offset=0");

        var page = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
        Assert.Equal(2, page.Count);
        Assert.Equal("3", response.Headers.GetValues("X-Total-Count").Single());
        Assert.Contains("offset=2", response.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        var rest = JsonNode.Parse(await Host.Client.GetStringAsync("/api/meters?limit=2&offset=2"))!.AsArray();
        Assert.Single(rest);
        Assert.Equal(HttpStatusCode.BadRequest, (await Host.Client.GetAsync("/api/sites?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Host.Client.GetAsync("/api/dersim/devices?limit=100001")).StatusCode);
    }

    /// <summary>Hostile values at every HTTP endpoint: only 2xx/4xx, and the hub still serves.</summary>
    [Fact]
    public async Task Hostile_inputs_at_every_endpoint_get_2xx_or_4xx_and_the_hub_stays_healthy()
    {
        string[] values =
        [
            "", " ", "%00", "%FF%FE", "..", "../../etc/passwd", "*", ">", "-1", "0", "99999999999999999999999", "1e309", "NaN",
            "true", "null", "[]", "{}", Uri.EscapeDataString(Injection), new string('x', 4000), "%F0%9F%92%A9", "orgs.>", "1-", "-", "1-2-3",
        ];
        string[] getTemplates =
        [
            "/api/v1/live?meter={0}", "/meters/{0}/api/v1/report", "/api/v1/system?meter={0}", "/api/sse/real-time-data/{0}",
            "/api/sse/meter-status/{0}", "/stream/sites/{0}", "/api/dersim/overview?device={0}", "/api/history?der={0}",
            "/api/history?site=site-1&from={0}", "/api/history?site=site-1&to={0}", "/api/history?site=site-1&step={0}",
            "/api/history?site=site-1&fields={0}", "/api/history?site=site-1&agg={0}", "/api/sites?limit={0}", "/api/meters?offset={0}",
            "/api/dersim/devices?limit={0}", "/dashboard/{0}", "/api/v1/live?lastEventId={0}",
        ];
        string[] bodies =
        [
            "", "{", "[", "null", "[null]", "{\"type\":\"meter\"}", new string('[', 100) + new string(']', 100), "{\"a\":" + new string('[', 64),
            $$"""{"org":"o","site":"s","device":"d","der":"m","type":"meter","timestamp":{{Now}},"W":"x"}""",
            $$"""{"org":"o","site":"s","device":"d","der":"m","type":"meter","timestamp":-1,"W":1}""",
            $$"""{"org":"o","site":"s","device":"d","der":"m","type":"meter","timestamp":1e300,"W":1e400}""",
            """{"meterType":"MD","meters":[1,2],"obisString":[{}]}""",
        ];

        var failures = new List<string>();
        foreach (var template in getTemplates)
        {
            foreach (var value in values)
            {
                var path = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, value);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    using var response = await Host.Client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                    if ((int)response.StatusCode >= 500)
                    {
                        failures.Add($"GET {path[..Math.Min(path.Length, 80)]} → {(int)response.StatusCode}");
                    }
                }
                catch (OperationCanceledException)
                {
                    // A stream that opens sends its headers at once (they are all this reads): no answer is a hang.
                    failures.Add($"GET {path[..Math.Min(path.Length, 80)]} → no answer within 5 s");
                }
            }
        }

        foreach (var path in new[] { "/api/readings", "/hes/service/stream" })
        {
            foreach (var body in bodies)
            {
                foreach (var type in new[] { "application/json", "application/x-ndjson" })
                {
                    using var response = await Host.Client.PostAsync(path, Json(body, type));
                    if ((int)response.StatusCode >= 500)
                    {
                        failures.Add($"POST {path} {type} {body[..Math.Min(body.Length, 40)]} → {(int)response.StatusCode}");
                    }
                }
            }
        }

        Assert.Empty(failures);
        Assert.Equal(HttpStatusCode.OK, (await Host.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Hostile_websocket_messages_get_errors_and_the_connection_stays()
    {
        await using var client = await WebSocketClient.ConnectAsync(Host, "/ws");
        Assert.Equal("hello", (string?)(await client.ReceiveJsonAsync())["type"]);
        string[] messages =
        [
            "", "{", "[]", "null", "42", "{\"type\":1}", "{\"type\":\"subscribe\"}", "{\"type\":\"subscribe\",\"id\":\"a\",\"subject\":\"..\"}",
            "{\"type\":\"subscribe\",\"id\":\"b\",\"lastEventId\":\"x-y\"}", "{\"type\":\"subscribe\",\"id\":\"c\",\"format\":\"<script>\"}",
            "{\"type\":\"subscribe\",\"id\":\"d\",\"kind\":\"nope\"}", "{\"type\":\"unsubscribe\",\"id\":\"zz\"}", "{\"type\":\"ping\",\"data\":" + new string('[', 20) + new string(']', 20) + "}",
            "{\"type\":\"x\",\"type\":\"y\"}",
        ];

        foreach (var message in messages)
        {
            await client.SendAsync(message);
            var answer = await client.ReceiveJsonAsync();
            Assert.Contains((string?)answer["type"], new[] { "error", "pong", "subscribed" });
        }

        await client.SendAsync("""{"type":"ping"}""");
        Assert.Equal("pong", (string?)(await client.ReceiveUntilAsync(m => (string?)m["type"] == "pong"))["type"]);
    }
}

/// <summary>Hardening cases that need a host of their own; alone, since one measures the process's managed memory.</summary>
[Collection(nameof(MeasuresMemory))]
public class HardeningHostTests
{
    private static StringContent Ndjson(IEnumerable<string> lines) => new(string.Join('\n', lines), Encoding.UTF8, "application/x-ndjson");

    [Fact]
    public async Task New_ders_past_the_limit_are_refused_with_a_4xx_and_memory_stays_bounded()
    {
        await using var host = await WattstreamHost.StartAsync("--Storage:Enabled=false", "--Simulation:Enabled=false", "--Hub:MaxDersPerOrg=5000", "--Hub:ReplayCapacity=16"); // a small ring: what is measured is per DER
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var before = GC.GetTotalMemory(forceFullCollection: true); // what is retained, not what the GC keeps in reserve
        var refused = 0;
        string? lastError = null;
        for (var batch = 0; batch < 60; batch++) // 60 000 new DERs, 1 000 a request: the first 5 000 fit
        {
            var lines = Enumerable.Range(batch * 1000, 1000).Select(i =>
                $$"""{"org":"flood","site":"s{{i % 50}}","device":"d","der":"m{{i}}","type":"meter","timestamp":{{now}},"W":1}""");
            using var response = await host.Client.PostAsync("/api/readings", Ndjson(lines));
            if (response.StatusCode == HttpStatusCode.UnprocessableEntity)
            {
                refused++;
                lastError = await response.Content.ReadAsStringAsync();
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        Assert.Equal(55, refused);
        Assert.Contains("Hub:MaxDersPerOrg", lastError, StringComparison.Ordinal);
        Assert.Equal(5000, host.Service<TelemetryHub>().Counters.Ders);
        // About 2 KB each (the hub's state, the summary's site index; docs/security.md); refused requests retain nothing.
        Assert.True(retained < 5000 * 2560, $"5 000 DERs retain {retained / 1024} KB: more than 2.5 KB each");

        // A DER that exists keeps working; another organisation is not affected.
        using var existing = await host.Client.PostAsync("/api/readings", Ndjson([$$"""{"org":"flood","site":"s0","device":"d","der":"m0","type":"meter","timestamp":{{now + 1000}},"W":2}"""]));
        Assert.Equal(HttpStatusCode.OK, existing.StatusCode);
        using var other = await host.Client.PostAsync("/api/readings", Ndjson([$$"""{"org":"calm","site":"s","device":"d","der":"m","type":"meter","timestamp":{{now}},"W":2}"""]));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task Pushes_beyond_the_concurrency_limit_get_429_with_retry_after_while_others_go_on()
    {
        await using var host = await WattstreamHost.StartAsync("--Ingest:MaxConcurrentPushes=1");

        // The permit goes to whichever push reaches the endpoint first. The slow push's first byte has left the client, but
        // on a busy machine a second push may still get in before it (and is answered 200), or take the permit first so
        // that the slow push is the one refused (it then ends early). Either way the race is run again, a few times at
        // most; once the slow push holds the permit, the next is refused.
        for (var attempt = 1; ; attempt++)
        {
            var release = new TaskCompletionSource();
            var slow = new SlowContent($$"""[{"org":"o","site":"s","device":"d","der":"slow","type":"meter","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"W":1}]""", release.Task);
            var first = host.Client.PostAsync("/api/readings", slow);
            await slow.Started.WaitAsync(TimeSpan.FromSeconds(10));

            var second = await RefusedWhileHeldAsync(host, first);
            if (second is null)
            {
                // Explain rather than time out: the slow push ended before it was ever seen holding the permit.
                var ended = first.IsCompletedSuccessfully ? first.Result.StatusCode.ToString() : first.Exception?.GetBaseException().Message;
                Assert.True(attempt < 5, $"the slow push ended early in {attempt} attempts, last: {ended}");
                release.SetResult();
                if (first.IsCompletedSuccessfully)
                {
                    first.Result.Dispose();
                }

                continue;
            }

            using var _ = second;
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
            Assert.Equal("1", second.Headers.GetValues("Retry-After").Single());
            Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/api/sites")).StatusCode); // reading is not limited

            release.SetResult();
            using var firstResponse = await first;
            Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
            return;
        }
    }

    // Pushes until one is not answered 200 (while the slow push is reading, that is the refusal) or 10 s pass; null when
    // the slow push ended first.
    private static async Task<HttpResponseMessage?> RefusedWhileHeldAsync(WattstreamHost host, Task<HttpResponseMessage> slow)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var second = await host.Client.PostAsync("/api/readings", Ndjson([$$"""{"org":"o","site":"s","device":"d","der":"fast","type":"meter","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"W":1}"""]));
            if (second.StatusCode != HttpStatusCode.OK || DateTime.UtcNow > deadline)
            {
                return second;
            }

            second.Dispose();
            if (slow.IsCompleted)
            {
                return null;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// A JSON body that sends leading whitespace until released, then the JSON: a push held open. It trickles rather than
    /// falls silent because Kestrel ends a body that arrives slower than its minimum data rate (240 B/s after a 5 s
    /// grace), which would hand the permit back in the middle of the test.
    /// </summary>
    private sealed class SlowContent : HttpContent
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly byte[] _bytes;
        private readonly Task _release;

        public SlowContent(string json, Task release)
        {
            _bytes = Encoding.UTF8.GetBytes(json);
            _release = release;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        public Task Started => _started.Task;

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var spaces = Encoding.ASCII.GetBytes(new string(' ', 128));
            await stream.WriteAsync(spaces);
            await stream.FlushAsync();
            _started.SetResult();
            for (var i = 0; i < 600 && !_release.IsCompleted; i++) // bounded: a minute at most
            {
                await Task.WhenAny(_release, Task.Delay(100));
                await stream.WriteAsync(spaces);
                await stream.FlushAsync();
            }

            await stream.WriteAsync(_bytes);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false; // chunked: the server cannot know the size up front
        }
    }

    [Fact]
    public async Task A_durable_push_answers_only_once_the_readings_are_in_the_store()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", "--Storage:FlushInterval=00:00:30");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var lines = Enumerable.Range(0, 10).Select(i => $$"""{"org":"o","site":"s","device":"d","der":"durable","type":"meter","timestamp":{{now + i}},"W":{{i}}}""");

        var watch = Stopwatch.StartNew();
        using var response = await host.Client.PostAsync("/api/readings?durable=true", Ndjson(lines));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "a durable push flushes at once, not after the 30 s flush interval");
        var stored = await host.Service<IReadingStore>().ReadEventsAsync([new Telemetry.DerAddress("o", "s", "d", "durable")], new EventPosition(0, 0), EventPosition.Max, 100);
        Assert.Equal(10, stored.Count);
    }

    [Fact]
    public async Task A_durable_push_survives_kill_9_right_after_its_answer()
    {
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-durable-{Guid.NewGuid():N}");
        var hub = await RunningHub.StartAsync(data, fileSizeLimitKb: null, "--Storage:FlushInterval=00:01:00", "--Simulation:Enabled=false");
        var process = hub.Process;
        try
        {
            var client = hub.Client;
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var lines = Enumerable.Range(0, 50).Select(i => $$"""{"org":"o","site":"s","device":"d","der":"kept","type":"meter","timestamp":{{now + i}},"W":{{i}}}""");

            using var response = await client.PostAsync("/api/readings?durable=true", Ndjson(lines));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            process.Kill(entireProcessTree: true); // SIGKILL, at once: the flush interval (a minute) never came
            await process.WaitForExitAsync();

            await using var store = new Wattstream.Storage.Sqlite.SqliteReadingStore(Path.Combine(data, "wattstream.db"));
            var kept = await store.ReadEventsAsync([new Telemetry.DerAddress("o", "s", "d", "kept")], new EventPosition(0, 0), EventPosition.Max, 100);
            Assert.Equal(50, kept.Count);
        }
        finally
        {
            await hub.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_durable_push_without_history_is_refused()
    {
        await using var host = await WattstreamHost.StartAsync("--Storage:Enabled=false");

        using var response = await host.Client.PostAsync("/api/readings?durable=true", Ndjson([$$"""{"org":"o","site":"s","device":"d","der":"m","type":"meter","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"W":1}"""]));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task A_ws_connection_without_a_subscription_is_closed_after_the_idle_time()
    {
        await using var host = await WattstreamHost.StartAsync("--WebSockets:IdleWithoutSubscription=00:00:00.500");
        await using var idle = await WebSocketClient.ConnectAsync(host, "/ws");
        await using var busy = await WebSocketClient.ConnectAsync(host, "/ws");
        await busy.SendAsync("""{"type":"subscribe","id":"s","subject":"orgs.demo.>"}""");

        string? message;
        do
        {
            message = await idle.ReceiveTextAsync(TimeSpan.FromSeconds(10));
        }
        while (message is not null);

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, idle.Socket.CloseStatus);
        Assert.Contains("no subscription", idle.Socket.CloseStatusDescription, StringComparison.Ordinal);
        Assert.NotNull(await busy.ReceiveTextAsync(TimeSpan.FromSeconds(5))); // one with a subscription stays
        Assert.Equal(WebSocketState.Open, busy.Socket.State);
    }

    [Fact]
    public async Task A_stalled_sse_client_is_cut_like_a_stalled_websocket()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.010", "--Streaming:QueueCapacity=16", "--Streaming:MaxDroppedBeforeClose=200");
        var supervisor = host.Service<StreamSupervisor>();
        using var stalled = new TcpClient { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /stream/sites/site-1 HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\n\r\n"));
        await Eventually.UntilAsync(() => supervisor.SessionsOf("sse") == 1, "the stalled stream open");

        await Eventually.UntilAsync(() => supervisor.SessionsOf("sse") == 0, "the stalled stream cut", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_failing_request_in_a_loop_is_logged_once_not_once_per_request()
    {
        var logs = new ConcurrentQueue<string>();
        await using var host = await WattstreamHost.StartAsync(
            b =>
            {
                b.Logging.AddProvider(new CapturingLoggerProvider(logs)).AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace);
                b.Services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter>(new ThrowingEndpoint());
            });

        for (var i = 0; i < 50; i++)
        {
            using var response = await host.Client.GetAsync("/test/throw");
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.DoesNotContain("at Wattstream", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal); // no trace in the body
        }

        Assert.Equal(1, logs.Count(l => l.Contains("boom", StringComparison.Ordinal)));
    }

    private sealed class ThrowingEndpoint : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            next(app);
            app.Use((HttpContext context, RequestDelegate inner) =>
                context.Request.Path == "/test/throw" ? throw new InvalidOperationException("boom") : inner(context));
        };
    }
}

/// <summary>Tests that measure the whole process run after the others, one at a time.</summary>
[CollectionDefinition(nameof(MeasuresMemory), DisableParallelization = true)]
public sealed class MeasuresMemory;
