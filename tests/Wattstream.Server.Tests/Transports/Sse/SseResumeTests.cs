using System.Net;
using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Server.Simulation;

namespace Wattstream.Server.Tests;

public class SseResumeTests
{
    /// <summary>Waits until <paramref name="count"/> more events of the subject have been published, and returns their ids.</summary>
    private static async Task<long[]> WaitForEventsAsync(WattstreamHost host, string subject, int count)
    {
        using var sub = host.Service<TelemetryHub>().Subscribe(subject);
        var ids = new List<long>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var e in sub.ReadAllAsync(cts.Token))
        {
            ids.Add(e.Id);
            if (ids.Count == count)
            {
                break;
            }
        }

        return ids.ToArray();
    }

    [Theory]
    [InlineData("header")]
    [InlineData("query")]
    public async Task A_reconnecting_client_gets_exactly_the_readings_it_missed_in_order_then_live_ones(string how)
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.050");
        var meter = host.Service<SimulatorService>().Simulator!.Sites[0].Meter;

        var first = (await SseClient.ReadAsync(host.Client, "/api/v1/live", 1, TimeSpan.FromSeconds(10))).Single();
        var firstId = SseClient.Sequence(first.EventId!);
        await WaitForEventsAsync(host, meter.Subject, 10); // the client is away while 10 readings pass

        var path = how == "query" ? $"/api/v1/live?lastEventId={first.EventId}" : "/api/v1/live";
        var resumed = await SseClient.ReadAsync(host.Client, path, 14, TimeSpan.FromSeconds(10), lastEventId: how == "header" ? first.EventId : null);

        // What the hub published for this meter after the first event: the client must get exactly these, in order.
        using var truth = host.Service<TelemetryHub>().Subscribe(meter.Subject, new SubscribeOptions { ResumeAfter = firstId });
        var expected = new List<long>();
        while (truth.TryRead(out var e))
        {
            expected.Add(e.Id);
        }

        var ids = resumed.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
        Assert.All(resumed, i => Assert.Equal("live", i.EventType));
        Assert.True(expected.Count >= 14);
        Assert.Equal(expected.Take(14), ids);
    }

    [Fact]
    public async Task An_id_older_than_the_hub_holds_gets_an_explicit_gap_event_then_data()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.020", "--Hub:ReplayCapacity=16", "--Storage:Enabled=false");
        var meter = host.Service<SimulatorService>().Simulator!.Sites[0].Meter;
        var first = (await SseClient.ReadAsync(host.Client, "/api/v1/live", 1, TimeSpan.FromSeconds(10))).Single();
        await WaitForEventsAsync(host, meter.Subject, 10); // 10 ticks × 10 DERs ≫ 16 held

        var items = await SseClient.ReadAsync(host.Client, "/api/v1/live", 3, TimeSpan.FromSeconds(10), lastEventId: first.EventId);

        Assert.Equal("gap", items[0].EventType);
        var gap = JsonNode.Parse(items[0].Data)!;
        Assert.Equal("too_old", (string?)gap["reason"]);
        Assert.Equal(first.EventId, (string?)gap["lastEventId"]);
        Assert.All(items.Skip(1), i => Assert.Equal("live", i.EventType));
        Assert.True(SseClient.Sequence(items[1].EventId!) > SseClient.Sequence(first.EventId!) + 16);
    }

    [Fact]
    public async Task An_id_from_an_earlier_run_is_recognised_and_answered_with_a_gap()
    {
        await using var host = await WattstreamHost.StartAsync("--Storage:Enabled=false");
        var epoch = host.Service<TelemetryHub>().Epoch;

        var items = await SseClient.ReadAsync(host.Client, "/stream/sites/site-1", 2, TimeSpan.FromSeconds(10), lastEventId: $"{epoch - 60_000}-5");

        Assert.Equal("gap", items[0].EventType);
        Assert.Equal("message", items[1].EventType); // then readings, unnamed as Novacore sends them
        Assert.NotNull(JsonNode.Parse(items[1].Data)!["type"]);
    }

    [Fact]
    public async Task An_id_older_than_the_ring_is_served_from_history_then_live()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.050", "--Hub:ReplayCapacity=16", "--Storage:FlushInterval=00:00:00.020");
        var meter = host.Service<SimulatorService>().Simulator!.Sites[0].Meter;
        var first = (await SseClient.ReadAsync(host.Client, "/api/v1/live", 1, TimeSpan.FromSeconds(10))).Single();
        var firstId = SseClient.Sequence(first.EventId!);
        await WaitForEventsAsync(host, meter.Subject, 15); // 15 ticks × 10 DERs: far more than the ring's 16

        var resumed = await SseClient.ReadAsync(host.Client, "/api/v1/live", 20, TimeSpan.FromSeconds(10), lastEventId: first.EventId);

        // The store knows what this meter published after the first event: the client gets exactly that, the first 20
        // of it, from history and then live (the store is waited for: the last of them may have come live, unflushed).
        var store = host.Service<Wattstream.Storage.IReadingStore>();
        var epoch = host.Service<TelemetryHub>().Epoch;
        long[] expected = [];
        await Eventually.UntilAsync(
            async () => (expected = (await store.ReadEventsAsync([meter], new Wattstream.Storage.EventPosition(epoch, firstId), Wattstream.Storage.EventPosition.Max, 20)).Select(e => e.Event.Sequence).ToArray()).Length == 20,
            "the store holds 20 of the meter's events after the first");
        Assert.All(resumed, i => Assert.Equal("live", i.EventType));
        var ids = resumed.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
        Assert.Equal(20, ids.Length);
        Assert.Equal(expected, ids);
    }

    [Theory]
    [InlineData("/api/v1/live")]
    [InlineData("/stream/sites/site-1")]
    [InlineData("/api/sse/meters")]
    public async Task A_malformed_last_event_id_is_a_400_problem(string path)
    {
        await using var host = await WattstreamHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Last-Event-ID", "not-an-id");

        using var response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("Last-Event-ID", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
