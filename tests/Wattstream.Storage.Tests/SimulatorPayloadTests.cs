using Wattstream.Simulation;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Storage.Tests;

/// <summary>
/// What the built-in simulator makes — every DER type, day and night, a year round, an EV plugged in or not, a prepaid
/// meter — goes through the stored payload (schema version 2) and the SQLite store and comes back the same to the byte.
/// </summary>
public sealed class SimulatorPayloadTests : IDisposable
{
    private readonly string _directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"wattstream-simpayload-{Guid.NewGuid():N}")).FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    // Seeds (11 is the one the server tests run with), start times across a year and a day, the steps of each run.
    private static IEnumerable<Reading> Simulated(int seed, DateTimeOffset start, TimeSpan interval, int steps)
    {
        var simulator = new SiteSimulator(new SimulationOptions { Seed = seed, Interval = interval }, start);
        for (var i = 0; i < steps; i++)
        {
            foreach (var r in simulator.Step(start + (interval * (i + 1))))
            {
                yield return r;
            }
        }
    }

    public static TheoryData<int, string, int, int> Runs()
    {
        var data = new TheoryData<int, string, int, int>();
        foreach (var seed in new[] { 11, 1, 42, 12345 })
        {
            foreach (var start in new[] { "2026-01-01T00:00:00Z", "2026-03-29T00:30:00Z", "2026-06-21T11:00:00Z", "2026-10-25T02:45:00Z", "2026-12-07T22:40:00Z" })
            {
                data.Add(seed, start, 200, 300); // the server tests' interval
                data.Add(seed, start, 60_000, 24 * 60); // a day in minutes: night, dawn, noon, dusk
            }
        }

        return data;
    }

    private static double?[] ColumnsAsStored(Reading reading) =>
        HistoryFields.All.Select(f => f.ValueOf(reading) is { } v && !double.IsNaN(v) ? (v == 0 ? 0.0 : v) : (double?)null).ToArray();

    [Theory]
    [MemberData(nameof(Runs))]
    public void Every_simulated_reading_comes_back_from_its_payload(int seed, string start, int intervalMs, int steps)
    {
        var n = 0;
        foreach (var reading in Simulated(seed, DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromMilliseconds(intervalMs), steps))
        {
            var payload = StoredPayloadTests.PayloadOf(reading, HistoryFields.All.Select(f => f.ValueOf(reading)).ToArray());
            var back = StoredPayload.Read(payload, reading.Der, reading.Timestamp, ColumnsAsStored(reading));
            Assert.Equal(ReadingJson.ToUtf8(reading), ReadingJson.ToUtf8(back));
            Assert.Equal(reading.Measurements.Select(m => BitConverter.DoubleToInt64Bits(m.Value)), back.Measurements.Select(m => BitConverter.DoubleToInt64Bits(m.Value)));
            n++;
        }

        Assert.True(n >= steps * 10);
    }

    [Theory]
    [InlineData(11, "2026-12-07T22:40:00Z", 200, 300)]
    [InlineData(11, "2026-06-21T04:00:00Z", 60_000, 24 * 60)]
    [InlineData(42, "2026-03-29T00:30:00Z", 60_000, 24 * 60)]
    public async Task Every_simulated_reading_is_stored_and_read_back_from_sqlite(int seed, string start, int intervalMs, int steps)
    {
        var readings = Simulated(seed, DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromMilliseconds(intervalMs), steps).ToList();
        var stored = readings.Select((r, i) => new StoredReading(new EventPosition(1, i + 1), r)).ToList();
        await using var store = new Sqlite.SqliteReadingStore(Path.Combine(_directory, $"h-{seed}-{intervalMs}.db"));
        await store.MigrateAsync();

        var inserted = 0;
        foreach (var batch in stored.Chunk(97))
        {
            inserted += await store.WriteAsync(batch);
        }

        var ders = readings.Select(r => r.Der).DistinctBy(d => d.Subject).ToList();
        var back = await store.ReadEventsAsync(ders, new EventPosition(0, 0), EventPosition.Max, readings.Count + 10);

        Assert.Equal(readings.Count, inserted);
        Assert.Equal(stored.Select(s => s.Event), back.Select(b => b.Event));
        Assert.All(stored.Zip(back), p => Assert.Equal(ReadingJson.ToUtf8(p.First.Reading), ReadingJson.ToUtf8(p.Second.Reading)));
    }
}
