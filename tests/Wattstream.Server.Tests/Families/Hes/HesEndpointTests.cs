using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Wattstream.Server.Simulation;

namespace Wattstream.Server.Tests;

public class HesEndpointTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private WattstreamHost Host => shared.Host;

    private string[] MeterNos => Host.Service<SimulatorService>().Simulator!.Sites.Select(s => s.MeterNumber).ToArray();

    private static void AssertRealtime(JsonNode data)
    {
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string)data["timestamp"]!);
        Assert.Matches(@"^\d+(\.\d+)? V$", (string)data["L1 Voltage"]!);
        Assert.Matches(@"^\d+(\.\d+)? A$", (string)data["L3 Current"]!);
        Assert.Matches(@"^\d+(\.\d+)? Hz$", (string)data["Frequency"]!);
        Assert.Matches(@"^\d+(\.\d+)? kWh$", (string)data["Total absolute cumulative active energy register"]!);
    }

    [Theory]
    [InlineData("/api/sse/meters")]
    [InlineData("/hes/service/stream")]
    public async Task All_meters_stream_unnamed_labelled_readings_of_every_meter(string path)
    {
        var items = await SseClient.ReadAsync(Host.Client, path, 9, TimeSpan.FromSeconds(10));

        Assert.All(items, i => Assert.Equal("message", i.EventType));
        var data = items.Select(i => JsonNode.Parse(i.Data)!).ToArray();
        Assert.All(data, AssertRealtime);
        Assert.Equal(MeterNos.Order(), data.Select(d => (string)d["meterNo"]!).Distinct().Order());
    }

    [Fact]
    public async Task Real_time_data_streams_one_meter()
    {
        var meterNo = MeterNos[1];

        var items = await SseClient.ReadAsync(Host.Client, $"/api/sse/real-time-data/{meterNo}", 3, TimeSpan.FromSeconds(10));

        Assert.All(items, i => Assert.Equal(meterNo, (string?)JsonNode.Parse(i.Data)!["meterNo"]));
    }

    [Fact]
    public async Task Meter_status_sends_the_status_at_connect()
    {
        var meterNo = MeterNos[0];

        var item = (await SseClient.ReadAsync(Host.Client, $"/api/sse/meter-status/{meterNo}", 1, TimeSpan.FromSeconds(10))).Single();

        Assert.Equal("meter-status", item.EventType);
        var status = JsonNode.Parse(item.Data)!;
        Assert.Equal(meterNo, (string?)status["meterNo"]);
        Assert.Equal("CONNECTED", (string?)status["status"]);
        Assert.Matches(@"Z$", (string)status["lastSeen"]!);
        Assert.True(DateTimeOffset.UtcNow - DateTimeOffset.Parse((string)status["lastSeen"]!, System.Globalization.CultureInfo.InvariantCulture) < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_status_stream_of_all_meters_sends_one_event_per_meter_at_connect()
    {
        var items = await SseClient.ReadAsync(Host.Client, "/hes/service/meter-status/stream", 3, TimeSpan.FromSeconds(10));

        Assert.All(items, i => Assert.Equal("meter-status", i.EventType));
        Assert.Equal(MeterNos.Order(), items.Select(i => (string)JsonNode.Parse(i.Data)!["meterNo"]!).Order());
    }

    [Fact]
    public async Task A_status_change_is_sent_when_it_happens()
    {
        // The host runs on a clock the test moves, so the meter cannot go stale before the client connects however busy
        // the machine is. The simulator steps once at start and then stays silent.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await WattstreamHost.StartAsync(
            builder => builder.Services.AddSingleton<TimeProvider>(clock),
            "--Simulation:Interval=01:00:00", "--Status:StaleAfter=00:00:02", "--Status:SweepInterval=00:00:00.100");
        var meterNo = host.Service<SimulatorService>().Simulator!.Sites[0].MeterNumber;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var response = await host.Client.GetAsync($"/api/sse/meter-status/{meterNo}", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        var items = new List<SseItem<string>>();
        Task? ticking = null;

        await foreach (var item in SseParser.Create(body).EnumerateAsync(cts.Token))
        {
            items.Add(item);
            if (items.Count == 2)
            {
                break;
            }

            // Time moves only once the client holds the first status. It moves in sweep-sized steps, so the sweep's
            // timer fires on this clock whenever it was created.
            ticking = Task.Run(async () =>
            {
                for (var i = 0; i < 100 && !cts.IsCancellationRequested; i++)
                {
                    clock.Advance(TimeSpan.FromMilliseconds(100));
                    await Task.Delay(20, CancellationToken.None);
                }
            }, CancellationToken.None);
        }

        await cts.CancelAsync();
        await ticking!;

        Assert.Equal(["CONNECTED", "STALE"], items.Select(i => (string)JsonNode.Parse(i.Data)!["status"]!));
        Assert.Equal(JsonNode.Parse(items[0].Data)!["lastSeen"]!.ToString(), JsonNode.Parse(items[1].Data)!["lastSeen"]!.ToString());
    }

    [Theory]
    [InlineData("/api/sse/meter-status/00000000000", HttpStatusCode.NotFound)]
    [InlineData("/api/sse/real-time-data/00000000000", HttpStatusCode.NotFound)]
    [InlineData("/api/sse/real-time-data/a.b", HttpStatusCode.BadRequest)]
    [InlineData("/api/sse/meter-status/%20", HttpStatusCode.BadRequest)]
    public async Task An_unknown_or_malformed_meter_id_is_a_problem_not_an_empty_stream(string path, HttpStatusCode expected)
    {
        using var response = await Host.Client.GetAsync(path);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
