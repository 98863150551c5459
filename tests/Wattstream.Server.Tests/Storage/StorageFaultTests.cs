using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Wattstream.Storage;
using Wattstream.Storage.Postgres;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>
/// History on a real PostgreSQL cluster that goes away mid-ingest (<c>pg_ctl stop -m immediate</c>: every server process
/// killed) and comes back: what is acknowledged is stored, ordinary pushes and live streams go on, every loss is said,
/// shutdown is bounded, and <c>/readyz</c> keeps a hub that still serves.
/// </summary>
public sealed partial class StorageFaultTests(PostgresCluster cluster) : IClassFixture<PostgresCluster>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Every_acknowledged_durable_reading_is_in_postgres_after_an_outage_that_overflowed_the_queue()
    {
        var connectionString = await cluster.CreateDatabaseAsync(durableCommits: true);
        var log = new ConcurrentQueue<string>();
        await using var host = await StartAsync(connectionString, log, "--Storage:QueueCapacity=2000", "--Simulation:Enabled=false");
        var t0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 600_000;
        using (var warm = await PushAsync(host.Client, "gw0", [t0], durable: true))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        var acknowledged = new ConcurrentBag<(string Der, long Timestamp)> { ("gw0", t0) };
        var refused = 0;
        var outcomes = new ConcurrentDictionary<HttpStatusCode, int>();
        var flooding = new CancellationTokenSource();
        var gateways = new CancellationTokenSource();
        Task[] gatewayTasks;
        Task flood;
        await cluster.StopAsync();
        try
        {
            // A flood of ordinary readings (500 a request) through a queue of 2 000 while the store is away, and ten
            // gateways pushing durable readings all along, before, during and after the outage is noticed.
            flood = Task.Run(async () =>
            {
                for (var n = 0; !flooding.IsCancellationRequested; n++)
                {
                    using var r = await PushAsync(host.Client, "flood", Enumerable.Range(0, 500).Select(i => t0 + 1 + (n * 500L) + i));
                }
            });
            gatewayTasks = Enumerable.Range(1, 10).Select(g => Task.Run(async () =>
            {
                for (var n = 0; !gateways.IsCancellationRequested; n++)
                {
                    long[] times = [t0 + (n * 3L) + 1, t0 + (n * 3L) + 2, t0 + (n * 3L) + 3];
                    using var r = await PushAsync(host.Client, $"gw{g}", times, durable: true);
                    outcomes.AddOrUpdate(r.StatusCode, 1, (_, c) => c + 1);
                    if (r.StatusCode == HttpStatusCode.OK)
                    {
                        foreach (var t in times)
                        {
                            acknowledged.Add(($"gw{g}", t));
                        }
                    }
                    else if (r.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        Assert.Equal("store_unavailable", (string?)JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]);
                        Assert.True(r.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "a refused durable push is told when to try again");
                        Interlocked.Increment(ref refused);
                    }

                    await Task.Delay(100);
                }
            })).ToArray();

            await Eventually.UntilAsync(() => host.Service<HistoryWriter>().Status.DroppedByReason![StorageLosses.QueueFull] > 0, "the queue overflowing", Patience);
            await Task.Delay(1000);
            await flooding.CancelAsync();
            await flood;
        }
        finally
        {
            await cluster.StartAsync();
        }

        await Task.Delay(2000); // the gateways go on after the store is back
        await gateways.CancelAsync();
        await Task.WhenAll(gatewayTasks);
        var writer = host.Service<HistoryWriter>();
        await Eventually.UntilAsync(() => writer.Status is { State: "writing", Queued: 0, DurableWaiting: 0, LastLoss: not null }, "the writer caught up", Patience);

        await using var store = new PostgresReadingStore(connectionString);
        var ders = Enumerable.Range(0, 11).Select(g => new DerAddress("o", "s", "d", $"gw{g}")).ToArray();
        var stored = (await store.ReadEventsAsync(ders, new EventPosition(0, 0), EventPosition.Max, 1_000_000)).Select(s => (s.Reading.Der.Der, s.Reading.Timestamp)).ToHashSet();
        var missing = acknowledged.Where(a => !stored.Contains(a)).ToArray();
        Assert.True(missing.Length == 0, $"{missing.Length} of {acknowledged.Count} acknowledged durable readings are not stored, e.g. {string.Join(", ", missing.Take(5))}; answers: {string.Join(", ", outcomes)}");
        Assert.True(acknowledged.Count > 3, $"durable pushes were acknowledged after the outage too ({string.Join(", ", outcomes)})");
        Assert.True(refused > 0, $"durable pushes are refused while the store is away ({string.Join(", ", outcomes)})");

        // The loss is said once, with its count and time range; the status and the metric say the same.
        var dropped = writer.Status.DroppedByReason![StorageLosses.QueueFull];
        var said = log.Where(l => l.Contains("The history queue dropped", StringComparison.Ordinal)).ToArray();
        Assert.Equal([$"{dropped}"], said.Select(l => DroppedCount().Match(l).Groups[1].Value));
        Assert.Single(log, l => l.Contains("The history queue is full", StringComparison.Ordinal));
        Assert.Equal(new StorageLoss(StorageLosses.QueueFull, dropped, writer.Status.LastLoss!.From, writer.Status.LastLoss.To), writer.Status.LastLoss);
        Assert.True(writer.Status.LastLoss.From >= DateTimeOffset.FromUnixTimeMilliseconds(t0) && writer.Status.LastLoss.From <= writer.Status.LastLoss.To);
        var metrics = await host.Client.GetStringAsync("/metrics");
        Assert.Contains($"wattstream_storage_dropped_total{{reason=\"queue_full\"}} {dropped}", metrics, StringComparison.Ordinal);
        var status = JsonNode.Parse(await host.Client.GetStringAsync("/api/storage"))!;
        Assert.Equal(dropped, (long)status["droppedByReason"]!["queue_full"]!);
        Assert.Equal(dropped, (long)status["lastLoss"]!["count"]!);
    }

    [Fact]
    public async Task Durable_gateways_during_an_outage_leave_ordinary_pushes_and_live_delivery_alone()
    {
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var host = await StartAsync(connectionString, null, "--Simulation:Enabled=false");
        var t0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 600_000;
        using (var first = await PushAsync(host.Client, "p0", [t0], site: "live"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode); // the site exists, so it can be streamed
        }

        using var reading = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var seen = new ConcurrentDictionary<long, byte>();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var live = Task.Run(async () =>
        {
            using var response = await host.Client.GetAsync("/stream/sites/live", HttpCompletionOption.ResponseHeadersRead, reading.Token);
            subscribed.TrySetResult();
            await using var body = await response.Content.ReadAsStreamAsync(reading.Token);
            try
            {
                await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(body).EnumerateAsync(reading.Token))
                {
                    seen.TryAdd((long)JsonNode.Parse(item.Data)!["W"]!, 0);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        await subscribed.Task.WaitAsync(Patience); // the stream has subscribed once its headers are sent

        var ordinary = new ConcurrentDictionary<HttpStatusCode, int>();
        var durable = new ConcurrentDictionary<HttpStatusCode, int>();
        var sent = new ConcurrentBag<long>();
        var next = 0L;
        using var load = new CancellationTokenSource();
        await cluster.StopAsync();
        try
        {
            // Ten gateways push a durable reading about once a second, as in the fault probe, from the moment the store
            // goes away; four ordinary pushers meanwhile.
            var gateways = Enumerable.Range(1, 10).Select(g => Task.Run(async () =>
            {
                for (var n = 1; !load.IsCancellationRequested; n++)
                {
                    using var r = await PushAsync(host.Client, $"gw{g}", [t0 + n], durable: true, site: "gateways");
                    durable.AddOrUpdate(r.StatusCode, 1, (_, c) => c + 1);
                    if (r.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        Assert.NotNull(r.Headers.RetryAfter);
                    }

                    await Task.Delay(1000);
                }
            })).ToArray();
            var pushers = Enumerable.Range(1, 4).Select(p => Task.Run(async () =>
            {
                while (!load.IsCancellationRequested)
                {
                    var w = Interlocked.Increment(ref next);
                    using var r = await PushAsync(host.Client, $"p{p}", [t0 + w], site: "live", watts: w);
                    ordinary.AddOrUpdate(r.StatusCode, 1, (_, c) => c + 1);
                    if (r.StatusCode == HttpStatusCode.OK)
                    {
                        sent.Add(w);
                    }

                    await Task.Delay(20);
                }
            })).ToArray();

            await Eventually.UntilAsync(() => host.Service<HistoryWriter>().IsFailing, "the writer noticing the outage", Patience);
            await Task.Delay(4000);
            await load.CancelAsync();
            await Task.WhenAll([.. gateways, .. pushers]);
        }
        finally
        {
            await cluster.StartAsync();
        }

        var total = ordinary.Values.Sum();
        Assert.True(total >= 20 && ordinary.GetValueOrDefault(HttpStatusCode.OK) == total, $"every ordinary push is taken while durable ones wait or are refused: {string.Join(", ", ordinary)}; durable: {string.Join(", ", durable)}");
        Assert.True(durable.GetValueOrDefault(HttpStatusCode.ServiceUnavailable) > 0, $"durable pushes are refused at once while the store is away: {string.Join(", ", durable)}");
        Assert.Equal(0, durable.GetValueOrDefault(HttpStatusCode.TooManyRequests)); // ten gateways, sixteen durable slots
        await Eventually.UntilAsync(() => sent.All(seen.ContainsKey), "every ordinary reading on the live stream", Patience);
        await reading.CancelAsync();
        await live;
    }

    [Fact]
    public async Task Stopping_while_postgres_is_away_gives_up_after_the_grace_and_says_what_it_abandons()
    {
        var connectionString = await cluster.CreateDatabaseAsync();
        var log = new ConcurrentQueue<string>();
        await using var host = await StartAsync(connectionString, log, "--Storage:ShutdownGrace=00:00:02");
        var writer = host.Service<HistoryWriter>();
        await Eventually.UntilAsync(() => writer.Status.Written > 0, "the simulator's readings stored", Patience);
        var watch = new Stopwatch();
        await cluster.StopAsync();
        try
        {
            await Eventually.UntilAsync(() => writer.IsFailing && writer.Status.Queued > 0, "readings queued while the store is away", Patience);
            watch.Start();
            await host.App.StopAsync();
            watch.Stop();
        }
        finally
        {
            await cluster.StartAsync();
        }

        // Generous: the grace is 2 s, the host's own shutdown timeout 30 s (which a writer retrying forever reached).
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"shutdown took {watch.Elapsed}");
        var abandoned = writer.Status.DroppedByReason![StorageLosses.Shutdown];
        Assert.True(abandoned > 0);
        var said = Assert.Single(log, l => l.Contains("were not stored", StringComparison.Ordinal));
        Assert.Contains($"{abandoned} readings taken from ", said, StringComparison.Ordinal);
        Assert.Contains("Storage:ShutdownGrace", said, StringComparison.Ordinal);
        Assert.Equal(StorageLosses.Shutdown, writer.Status.LastLoss!.Reason);
        Assert.Equal(abandoned, writer.Status.LastLoss.Count);
    }

    [Fact]
    public async Task Readyz_keeps_a_hub_whose_store_is_away_until_the_queue_is_almost_full_and_logs_each_change_once()
    {
        var connectionString = await cluster.CreateDatabaseAsync();
        var log = new ConcurrentQueue<string>();
        await using var host = await StartAsync(connectionString, log, "--Storage:QueueCapacity=5000", "--Logging:LogLevel:Wattstream.Server.Health=Information");
        Assert.Equal("healthy", (await ReadyAsync(host.Client, HttpStatusCode.OK))["status"]!.GetValue<string>());
        var writer = host.Service<HistoryWriter>();
        await cluster.StopAsync();
        try
        {
            await Eventually.UntilAsync(() => writer.IsFailing, "the writer noticing the outage", Patience);
            for (var i = 0; i < 10; i++)
            {
                var degraded = await ReadyAsync(host.Client, HttpStatusCode.OK); // live serving goes on: a load balancer keeps the hub
                Assert.Equal("degraded", (string?)degraded["status"]);
                Assert.Equal("degraded", (string?)degraded["checks"]!["store"]!["status"]);
                Assert.Contains("live serving goes on", (string?)degraded["checks"]!["store"]!["detail"], StringComparison.Ordinal);
            }

            // 4 600 readings more fill the queue past 90 %: the next would be dropped.
            var t0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 600_000;
            for (var n = 0; n < 2; n++)
            {
                using var r = await PushAsync(host.Client, "flood", Enumerable.Range(0, 2300).Select(i => t0 + (n * 2300L) + i));
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            }

            for (var i = 0; i < 5; i++)
            {
                var full = await ReadyAsync(host.Client, HttpStatusCode.ServiceUnavailable);
                Assert.Equal("unhealthy", (string?)full["checks"]!["store"]!["status"]);
                Assert.Contains("about to be dropped", (string?)full["checks"]!["store"]!["detail"], StringComparison.Ordinal);
            }
        }
        finally
        {
            await cluster.StartAsync();
        }

        try
        {
            await Eventually.UntilAsync(async () => (await host.Client.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK && !writer.IsFailing, "ready again once the store is back", Patience);
        }
        catch (TimeoutException)
        {
            using var response = await host.Client.GetAsync("/readyz");
            Assert.Fail($"{writer.Status} {await response.Content.ReadAsStringAsync()} {string.Join("\n", log)}");
        }

        Assert.Equal("healthy", (await ReadyAsync(host.Client, HttpStatusCode.OK))["status"]!.GetValue<string>());

        var changes = log.Where(l => l.Contains("Readiness changed", StringComparison.Ordinal)).ToArray();
        Assert.Collection(
            changes,
            l => Assert.Contains("from healthy to degraded: store: postgres: writes failing", l, StringComparison.Ordinal),
            l => Assert.Contains("from degraded to unhealthy: store: postgres:", l, StringComparison.Ordinal),
            l => Assert.Contains("from unhealthy to healthy", l, StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.StartsWith("Microsoft.Extensions.Diagnostics.HealthChecks", StringComparison.Ordinal));
    }

    private static async Task<JsonNode> ReadyAsync(HttpClient client, HttpStatusCode expected)
    {
        using var response = await client.GetAsync("/readyz");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"/readyz answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    private static Task<WattstreamHost> StartAsync(string connectionString, ConcurrentQueue<string>? log, params string[] settings) =>
        WattstreamHost.StartAsync(
            builder =>
            {
                if (log is not null)
                {
                    builder.Logging.AddProvider(new CapturingLoggerProvider(log));
                }
            },
            [$"--Storage:PostgresConnectionString={connectionString}", "--Storage:FlushInterval=00:00:00.050", "--Storage:RetryInterval=00:00:00.200", .. settings]);

    private static Task<HttpResponseMessage> PushAsync(HttpClient client, string der, IEnumerable<long> timestamps, bool durable = false, string site = "s", long? watts = null)
    {
        var lines = timestamps.Select(t => $$"""{"org":"o","site":"{{site}}","device":"d","der":"{{der}}","type":"meter","timestamp":{{t}},"W":{{watts ?? t % 10_000}}}""");
        return client.PostAsync(durable ? "/api/readings?durable=true" : "/api/readings", new StringContent(string.Join('\n', lines), Encoding.UTF8, "application/x-ndjson"));
    }

    [GeneratedRegex(@"dropped (\d+) readings")]
    private static partial Regex DroppedCount();
}
