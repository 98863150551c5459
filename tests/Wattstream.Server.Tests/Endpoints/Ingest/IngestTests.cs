using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Hub;
using Wattstream.Server.Simulation;

namespace Wattstream.Server.Tests;

public class IngestTests
{
    private static async Task<WhatwattEmulator> EmulatorAsync(int port = 0)
    {
        var emulator = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = port, Password = "s3cr3t-pw", Interval = TimeSpan.FromSeconds(1), Seed = 9 }, _ => { });
        await emulator.StartAsync();
        return emulator;
    }

    private static string[] SourceSettings(WhatwattEmulator emulator) =>
    [
        "--Sources:0:Id=home",
        "--Sources:0:Kind=Whatwatt",
        $"--Sources:0:Url={emulator.BaseAddress}",
        "--Sources:0:Password=s3cr3t-pw",
        "--Sources:0:Org=acme",
        "--Sources:0:Site=home",
        "--Sources:0:Der=99900011122",
        "--SourceTiming:BackoffBase=00:00:00.050",
        "--SourceTiming:BackoffCap=00:00:00.300",
    ];

    [Fact]
    public async Task The_emulators_meter_appears_on_live_and_in_the_hes_streams_with_status_changes()
    {
        var emulator = await EmulatorAsync();
        var port = emulator.BaseAddress.Port;
        var logs = new ConcurrentQueue<string>();
        await using var host = await WattstreamHost.StartAsync(b => b.Logging.AddProvider(new CapturingLoggerProvider(logs)).AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace), SourceSettings(emulator));

        // With a source configured, the simulator is off: the only meter is the emulator's.
        Assert.False(host.Service<SimulatorService>().Enabled);
        var live = await SseClient.ReadAsync(host.Client, "/api/v1/live", 2, TimeSpan.FromSeconds(15));
        Assert.All(live, i => Assert.Equal("live", i.EventType));
        var meters = JsonNode.Parse(await host.Client.GetStringAsync("/api/meters"))!.AsArray();
        Assert.Equal("99900011122", (string?)Assert.Single(meters)!["meterNo"]);

        var hes = await SseClient.ReadAsync(host.Client, "/api/sse/real-time-data/99900011122", 1, TimeSpan.FromSeconds(15));
        Assert.Equal("99900011122", (string?)JsonNode.Parse(hes[0].Data)!["meterNo"]);

        var sources = JsonNode.Parse(await host.Client.GetStringAsync("/api/sources"))!.AsArray();
        var source = sources.Single()!;
        Assert.Equal("CONNECTED", (string?)source["status"]);
        Assert.True((long)source["events"]! >= 2);
        Assert.DoesNotContain("s3cr3t", source.ToJsonString(), StringComparison.Ordinal);

        // The emulator stops: the meter's status stream says so; it starts again: connected again.
        using var statusCts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var statusOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var statuses = SseClient.ReadAsync(host.Client, "/api/sse/meter-status/99900011122", 20, TimeSpan.FromSeconds(30),
            until: i =>
            {
                statusOpen.TrySetResult(); // the present status arrived: the stream is open
                return (string?)JsonNode.Parse(i.Data)!["status"] == "CONNECTED" && seenDown;
            });
        await statusOpen.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await emulator.DisposeAsync();
        await WaitAsync(() => (string?)JsonNode.Parse(host.Client.GetStringAsync("/api/meters").Result)![0]!["status"] is "DISCONNECTED" or "CONNECTING");
        seenDown = true;
        await using var restarted = await EmulatorAsync(port);
        var events = await statuses;

        var sequence = events.Select(e => (string)JsonNode.Parse(e.Data)!["status"]!).ToArray();
        Assert.True(sequence[0] == "CONNECTED", string.Join(", ", sequence));
        Assert.Contains(sequence, s => s is "DISCONNECTED" or "CONNECTING");
        Assert.Equal("CONNECTED", sequence[^1]);

        // The password never reached a log line.
        Assert.NotEmpty(logs);
        Assert.DoesNotContain(logs, line => line.Contains("s3cr3t", StringComparison.Ordinal));
    }

    private static volatile bool seenDown;

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_malformed_sources_section_stops_the_start_with_a_clear_message()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => WattstreamHost.StartAsync("--Sources:0:Kind=Whatwatt", "--Sources:0:Url=http://127.0.0.1:1/"));

        Assert.Contains("Sources:0", e.Message, StringComparison.Ordinal);
        Assert.Contains("Id", e.Message, StringComparison.Ordinal);
    }
}

public class PushApiTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private Task<HttpResponseMessage> PostAsync(string body, string contentType = "application/json") =>
        shared.Host.Client.PostAsync("/api/readings", new StringContent(body, Encoding.UTF8, contentType));

    [Fact]
    public async Task One_reading_is_accepted_and_published()
    {
        var t = Now;
        using var sub = shared.Host.Service<TelemetryHub>().Subscribe("orgs.gw.sites.roof.>");

        using var response = await PostAsync($$"""{"org":"gw","site":"roof","device":"inv","der":"pv-a","type":"pv","timestamp":{{t}},"W":-1500,"total_generation_Wh":42}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var accepted = body["accepted"]!.AsArray().Single()!;
        Assert.Equal(0, (int)accepted["index"]!);
        Assert.Matches(@"^\d+-\d+$", (string)accepted["eventId"]!);
        Assert.True(sub.TryRead(out var e));
        Assert.Equal(-1500, e.Reading.Get(Telemetry.Quantity.ActivePower, Telemetry.Unit.Watt));
    }

    [Fact]
    public async Task Arrays_and_ndjson_are_accepted_and_duplicates_are_listed()
    {
        var t = Now;
        var reading = $$"""{"org":"gw","site":"s2","device":"m","der":"meter-x","type":"meter","timestamp":{{t}},"W":100}""";
        var other = $$"""{"org":"gw","site":"s2","device":"m","der":"meter-x","type":"meter","timestamp":{{t + 1000}},"W":110}""";

        using var array = await PostAsync($"[{reading},{other}]");
        using var ndjson = await PostAsync($"{reading}\n{other}\n", "application/x-ndjson");

        var first = JsonNode.Parse(await array.Content.ReadAsStringAsync())!;
        var second = JsonNode.Parse(await ndjson.Content.ReadAsStringAsync())!;
        Assert.Equal(2, first["accepted"]!.AsArray().Count);
        Assert.Empty(first["duplicates"]!.AsArray());
        Assert.Empty(second["accepted"]!.AsArray());
        Assert.Equal([0, 1], second["duplicates"]!.AsArray().Select(d => (int)d!));
    }

    [Theory]
    [InlineData("application/x-ndjson")]
    [InlineData("application/json")]
    public async Task A_pushed_readings_address_members_are_its_address_not_extras(string contentType)
    {
        var t = Now;
        var site = contentType.Contains("nd", StringComparison.Ordinal) ? "s5" : "s6";
        using var sub = shared.Host.Service<TelemetryHub>().Subscribe($"orgs.gw.sites.{site}.>");
        var reading = $$"""{"org":"gw","site":"{{site}}","device":"m","der":"meter-z","type":"meter","timestamp":{{t}},"W":100,"fw":"1.2"}""";

        using var response = await PostAsync(contentType.Contains("nd", StringComparison.Ordinal) ? reading + "\n" : $"[{reading}]", contentType);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(sub.TryRead(out var e));
        Assert.Equal(new Telemetry.DerAddress("gw", site, "m", "meter-z"), e.Reading.Der);
        Assert.Equal(["fw"], e.Reading.Extras.Select(x => x.Name));
    }

    [Fact]
    public async Task Ndjson_lines_may_end_in_crlf_and_be_padded_or_blank()
    {
        var t = Now;
        var reading = $$"""{"org":"gw","site":"s4","device":"m","der":"meter-y","type":"meter","timestamp":{{t}},"W":100}""";
        var other = $$"""{"org":"gw","site":"s4","device":"m","der":"meter-y","type":"meter","timestamp":{{t + 1000}},"W":"x"}""";

        using var ok = await PostAsync($"\r\n  {reading}\t\r\n\r\n", "application/x-ndjson");
        using var bad = await PostAsync($"{reading}\r\n{other}\r\n", "application/x-ndjson");

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Single(JsonNode.Parse(await ok.Content.ReadAsStringAsync())!["accepted"]!.AsArray());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("[1]", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal); // the second line is named
    }

    [Fact]
    public async Task Invalid_readings_are_a_400_naming_every_bad_field_by_index_and_nothing_is_accepted()
    {
        var t = Now;

        using var response = await PostAsync($$"""
            [
              {"org":"gw","site":"s3","device":"d","der":"ok","type":"pv","timestamp":{{t}},"W":-1},
              {"org":"gw","site":"s3","device":"d","der":"bad","type":"inverter","timestamp":"yesterday","W":"lots"},
              {"site":"s3","device":"d","der":"x.y","type":"meter","timestamp":1000}
            ]
            """);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!;
        Assert.Null(errors["[0]"]);
        var second = errors["[1]"]!.AsArray().Select(e => (string)e!).ToArray();
        Assert.Contains(second, e => e.Contains("'type'", StringComparison.Ordinal));
        Assert.Contains(second, e => e.Contains("'timestamp'", StringComparison.Ordinal));
        Assert.Contains(second, e => e.Contains("'W'", StringComparison.Ordinal));
        var third = errors["[2]"]!.AsArray().Select(e => (string)e!).ToArray();
        Assert.Contains(third, e => e.Contains("'org'", StringComparison.Ordinal));
        Assert.Contains(third, e => e.Contains("'der'", StringComparison.Ordinal));
        Assert.Contains(third, e => e.Contains("not plausible", StringComparison.Ordinal));
        Assert.Equal(0, AcceptedOf("orgs.gw.sites.s3.>")); // none of the request's readings, not even the valid one
    }

    // Other tests and the simulator publish concurrently (the hub's total moves): count only this test's subjects.
    private long AcceptedOf(string pattern)
    {
        using var sub = shared.Host.Service<TelemetryHub>().Subscribe(pattern, new SubscribeOptions { ResumeAfter = 0 });
        var accepted = 0L;
        while (sub.TryRead(out _))
        {
            accepted++;
        }

        return accepted;
    }

    // What a document parser refused stays refused now that each reading is read in one pass over its bytes (issue 31).
    [Theory]
    [InlineData("""{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T,"W":1,"W":2}""", "application/json")]
    [InlineData("""[{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T,"org":"gw"}]""", "application/json")]
    [InlineData("""{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T,"meta":{"a":1,"a":2}}""", "application/json")]
    [InlineData("""{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T,"\u0057":1,"W":2}""", "application/json")]
    [InlineData("""{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T} {}""", "application/json")]
    [InlineData("""[{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T}] x""", "application/json")]
    [InlineData("""{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T""", "application/json")]
    [InlineData("""{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T,"x":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}""", "application/json")]
    [InlineData("""{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T,"W":1,"W":2}""", "application/x-ndjson")]
    [InlineData("""{"org":"gw","site":"s7","device":"m","der":"q","type":"meter","timestamp":T}} """, "application/x-ndjson")]
    public async Task A_reading_given_twice_a_member_cut_short_or_nested_too_deep_is_malformed_and_nothing_is_accepted(string body, string contentType)
    {
        var t = Now;
        var valid = $$"""{"org":"gw","site":"s7","device":"m","der":"ok","type":"meter","timestamp":{{t}},"W":5}""";
        var bad = body.Replace("T", t.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        using var response = await PostAsync(contentType.Contains("nd", StringComparison.Ordinal) ? $"{valid}\n{bad}\n" : bad, contentType);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("malformed_json", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
        Assert.Equal(0, AcceptedOf("orgs.gw.sites.s7.>"));
    }

    // Addresses of DERs pushed before are found again from the id bytes (PushedAddresses): ids that run together the same
    // way ("ab"+"c", "a"+"bc") stay apart, and an escaped id is its unescaped text.
    [Fact]
    public async Task Each_pushed_reading_keeps_its_own_address_when_the_same_ders_are_pushed_again()
    {
        var t = Now;
        using var sub = shared.Host.Service<TelemetryHub>().Subscribe("orgs.gw.>");
        string Reading(string site, string device, long at) => $$"""{"org":"gw","site":"{{site}}","device":"{{device}}","der":"m","type":"meter","timestamp":{{at}},"W":1}""";
        var body = string.Join('\n', Enumerable.Range(0, 3).SelectMany(i => new[] { Reading("s9ab", "c", t + i), Reading("s9a", "bc", t + i), Reading("s9\\u0061", "x", t + i) }));

        using var response = await PostAsync(body, "application/x-ndjson");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var subjects = new List<string>();
        while (sub.TryRead(out var e))
        {
            if (e.Reading.Der.Site.StartsWith("s9", StringComparison.Ordinal))
            {
                subjects.Add($"{e.Reading.Der.Site}/{e.Reading.Der.Device}");
            }
        }

        Assert.Equal(Enumerable.Repeat(new[] { "s9ab/c", "s9a/bc", "s9a/x" }, 3).SelectMany(x => x), subjects);
    }

    [Fact]
    public async Task An_element_that_is_not_an_object_is_named_by_index_and_a_byte_order_mark_is_passed_over()
    {
        var t = Now;
        var reading = $$"""{"org":"gw","site":"s8","device":"m","der":"bom","type":"meter","timestamp":{{t}},"W":5}""";

        using var mixed = await PostAsync($"[{reading}, 7, null, [1]]");
        using var bom = await shared.Host.Client.PostAsync("/api/readings", new ByteArrayContent([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(reading)]) { Headers = { ContentType = new("application/json") } });

        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
        var errors = JsonNode.Parse(await mixed.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Equal(["[1]", "[2]", "[3]"], errors.Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.All(errors, e => Assert.Contains("must be a JSON object", (string)e.Value![0]!, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, bom.StatusCode);
        Assert.Equal(1, AcceptedOf("orgs.gw.sites.s8.>"));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("[]")]
    public async Task Malformed_bodies_are_400_problems(string body)
    {
        using var response = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
