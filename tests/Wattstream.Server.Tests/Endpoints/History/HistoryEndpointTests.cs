using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Storage;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

public class HistoryEndpointTests
{
    private static readonly DerAddress Pv = new("hist", "roof", "inv", "pv-h");
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A host without the simulator, with two minutes of 10-s PV readings pushed in and written to history.</summary>
    private static async Task<WattstreamHost> HostWithHistoryAsync()
    {
        var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", "--Storage:FlushInterval=00:00:00.020");
        var hub = host.Service<TelemetryHub>();
        for (var s = 0; s < 120; s += 10)
        {
            hub.Publish(new Reading(Pv, DerType.Pv, T0.AddSeconds(s).ToUnixTimeMilliseconds(), null, [new Measurement(Quantity.ActivePower, -s, Unit.Watt)]));
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (host.Service<HistoryWriter>().Status.Written < 12)
        {
            Assert.True(DateTime.UtcNow < deadline, "history was not written");
            await Task.Delay(20);
        }

        return host;
    }

    private const string Range = "from=2026-11-01T10:00:00Z&to=2026-11-01T10:02:00Z";

    [Fact]
    public async Task History_is_bucketed_in_json()
    {
        await using var host = await HostWithHistoryAsync();

        var body = JsonNode.Parse(await host.Client.GetStringAsync($"/api/history?der=pv-h&{Range}&step=1m&fields=w&agg=avg"))!;

        Assert.Equal("avg", (string?)body["agg"]);
        var points = body["series"]!.AsArray().Single()!["points"]!.AsArray();
        Assert.Equal(["2026-11-01T10:00:00.000Z", "2026-11-01T10:01:00.000Z"], points.Select(p => (string)p!["time"]!));
        Assert.Equal(-25, (double)points[0]!["w"]!); // (0 + 10 + … + 50) / 6, negated
        Assert.Equal(-85, (double)points[1]!["w"]!);
    }

    [Theory]
    [InlineData("format=csv", null)]
    [InlineData("", "text/csv")]
    public async Task History_is_csv_on_request(string query, string? accept)
    {
        await using var host = await HostWithHistoryAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/history?site=roof&{Range}&step=1m&fields=w&agg=last&{query}");
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        using var response = await host.Client.SendAsync(request);
        var lines = (await response.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');

        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("time,subject,der,w", lines[0]);
        Assert.Equal($"2026-11-01T10:00:00.000Z,{Pv.Subject},pv-h,-50", lines[1]);
        Assert.Equal($"2026-11-01T10:01:00.000Z,{Pv.Subject},pv-h,-110", lines[2]);
        Assert.Equal(3, lines.Length);
    }

    [Theory]
    [InlineData("/api/history", HttpStatusCode.BadRequest, "missing_der")]
    [InlineData("/api/history?der=nope", HttpStatusCode.NotFound, "der_not_found")]
    [InlineData("/api/history?der=pv-h&step=5x", HttpStatusCode.BadRequest, "invalid_step")]
    [InlineData("/api/history?der=pv-h&fields=w,volts", HttpStatusCode.BadRequest, "invalid_field")]
    [InlineData("/api/history?der=pv-h&agg=median", HttpStatusCode.BadRequest, "invalid_agg")]
    [InlineData("/api/history?der=pv-h&from=yesterday", HttpStatusCode.BadRequest, "invalid_time")]
    [InlineData("/api/history?der=pv-h&from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", HttpStatusCode.BadRequest, "invalid_range")]
    [InlineData("/api/history?der=pv-h&from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&step=1d", HttpStatusCode.BadRequest, "range_too_large")]
    [InlineData("/api/history?der=pv-h&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&step=1s", HttpStatusCode.BadRequest, "too_many_points")]
    public async Task Bad_queries_are_problems(string path, HttpStatusCode status, string error)
    {
        await using var host = await HostWithHistoryAsync();

        using var response = await host.Client.GetAsync(path);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(error, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
    }

    [Fact]
    public async Task History_is_kept_by_default_and_the_storage_status_shows_the_writer()
    {
        await using var host = await WattstreamHost.StartAsync("--Storage:FlushInterval=00:00:00.050");
        await Eventually.UntilAsync(async () => (long)JsonNode.Parse(await host.Client.GetStringAsync("/api/storage"))!["written"]! > 0, "the first batch written");

        var status = JsonNode.Parse(await host.Client.GetStringAsync("/api/storage"))!;

        Assert.Equal("sqlite", (string?)status["store"]);
        Assert.True((long)status["written"]! > 0);
        Assert.Equal(0, (long)status["dropped"]!);
        Assert.True(File.Exists(Path.Combine(host.DataDirectory, "wattstream.db")));
    }

    private static long CommittedReadings(string db)
    {
        try
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM readings";
            return (long)command.ExecuteScalar()!;
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return 0; // not created yet, or busy
        }
    }

    [Fact]
    public async Task After_kill_9_during_ingest_the_database_opens_clean_and_keeps_what_was_flushed()
    {
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-crash-{Guid.NewGuid():N}");
        var server = Path.Combine(AppContext.BaseDirectory, "wattstream.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { server, "--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={data}", "--Storage:FlushInterval=00:00:00.100", "--Simulation:Interval=00:00:00.010", "--Simulation:Sites=20" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var db = Path.Combine(data, "wattstream.db");
        try
        {
            // Ingest runs for a while (20 sites, 100 steps a second), then the process dies without warning.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!File.Exists(db) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            // Let well over a thousand readings be committed (a reader sees them as the writer goes on), then kill mid-ingest.
            await Eventually.UntilAsync(() => CommittedReadings(db) > 2000, "2 000 readings committed", TimeSpan.FromSeconds(30));
            process.Kill(entireProcessTree: true); // SIGKILL
            await process.WaitForExitAsync();

            await using var store = new Wattstream.Storage.Sqlite.SqliteReadingStore(db);
            await store.MigrateAsync();
            Assert.Equal("ok", store.IntegrityCheck());
            Assert.True(await store.CountAsync() > 1000, "readings written before the kill are there");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }
}
