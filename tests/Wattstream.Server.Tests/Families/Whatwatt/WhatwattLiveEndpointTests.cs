using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wattstream.Simulation;
using Wattstream.Server.Simulation;

namespace Wattstream.Server.Tests;

public class WhatwattLiveEndpointTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private WattstreamHost Host => shared.Host;

    private IReadOnlyList<SimulatedSite> Sites => Host.Service<SimulatorService>().Simulator!.Sites;

    [Fact]
    public async Task Live_streams_whatwatt_events_of_the_first_meter()
    {
        var items = await SseClient.ReadAsync(Host.Client, "/api/v1/live", count: 3, TimeSpan.FromSeconds(10));

        Assert.Equal(3, items.Count);
        foreach (var item in items)
        {
            Assert.Equal("live", item.EventType);
            Assert.DoesNotContain('\n', item.Data);
            var json = JsonNode.Parse(item.Data)!.AsObject();
            foreach (var key in new[] { "P_In", "P_Out", "P_P1_In", "V_P1", "I_P3", "PF", "E_In", "E_In_T1", "E_Out_T2", "T", "Date", "Time", "Uptime" })
            {
                Assert.True(json.ContainsKey(key), $"missing {key} in {item.Data}");
            }

            Assert.Equal(JsonValueKind.Number, json["P_In"]!.GetValueKind());
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", (string)json["Date"]!);
            Assert.Matches(@"^\d+-\d+$", item.EventId!);
        }

        // Each event is a new measurement: ids increase.
        var ids = items.Select(i => long.Parse(i.EventId!.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Fact]
    public async Task Live_sends_sse_headers_and_a_retry_interval()
    {
        using var response = await Host.Client.GetAsync("/api/v1/live", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no-cache", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());

        await using var stream = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(stream);
        Assert.Equal("retry: 5000", await reader.ReadLineAsync());
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public async Task Meter_selects_the_stream_by_meter_number_or_device_id(int siteNumber, bool byDevice)
    {
        var site = Sites[siteNumber - 1];
        var key = byDevice ? site.Meter.Device : site.MeterNumber;
        var hub = Host.Service<Wattstream.Hub.TelemetryHub>();

        var item = (await SseClient.ReadAsync(Host.Client, $"/api/v1/live?meter={key}", count: 1, TimeSpan.FromSeconds(10))).Single();

        // The event is that meter's: replaying that meter's subject from just before the id yields the same event.
        Assert.Equal("live", item.EventType);
        var id = long.Parse(item.EventId!.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture);
        using var sub = hub.Subscribe(site.Meter.Subject, new Wattstream.Hub.SubscribeOptions { ResumeAfter = id - 1 });
        Assert.True(sub.TryRead(out var replayed));
        Assert.Equal(id, replayed.Id);
        Assert.Equal(site.Meter, replayed.Reading.Der);
    }

    [Fact]
    public async Task Unknown_meter_is_a_404_problem()
    {
        using var response = await Host.Client.GetAsync("/api/v1/live?meter=no-such-meter");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(404, (int)problem["status"]!);
        Assert.Equal("Unknown meter", (string?)problem["title"]);
        Assert.Contains("no-such-meter", (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fifty_concurrent_clients_all_receive_live_events()
    {
        var clients = Enumerable.Range(0, 50)
            .Select(_ => SseClient.ReadAsync(Host.Client, "/api/v1/live", count: 3, TimeSpan.FromSeconds(20)))
            .ToArray();

        var results = await Task.WhenAll(clients);

        Assert.All(results, items =>
        {
            Assert.Equal(3, items.Count);
            Assert.All(items, i => Assert.Equal("live", i.EventType));
        });
    }

    [Fact]
    public async Task Healthz_answers_200_while_serving()
    {
        using var response = await Host.Client.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("ok", (string?)body["status"]);
        Assert.True((long)body["readingsAccepted"]! > 0);
    }
}
