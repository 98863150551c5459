using BenchmarkDotNet.Attributes;
using Wattstream.Storage;
using Wattstream.Storage.Postgres;
using Wattstream.Storage.Sqlite;
using Wattstream.Telemetry;

namespace Wattstream.Benchmarks;

/// <summary>
/// Sustained ingest into each store (batches as the history writer makes them) and the one-day downsampling query.
/// PostgreSQL runs when WATTSTREAM_BENCH_PG holds a connection string (bench/run-storage.sh starts a temporary cluster).
/// </summary>
[MemoryDiagnoser]
public class StorageBenchmarks
{
    private const int Batch = 5000;
    private const long Day = 86_400_000;
    private IReadingStore _store = null!;
    private string? _directory;
    private StoredReading[][] _batches = null!;
    private int _next;
    private DerAddress[] _queryDer = null!;

    [Params("sqlite", "postgres")]
    public string Store { get; set; } = "sqlite";

    [GlobalSetup]
    public async Task Setup()
    {
        if (Store == "postgres")
        {
            var cs = Environment.GetEnvironmentVariable("WATTSTREAM_BENCH_PG") ?? throw new InvalidOperationException("set WATTSTREAM_BENCH_PG (bench/run-storage.sh does)");
            _store = new PostgresReadingStore(cs);
        }
        else
        {
            _directory = Path.Combine(Path.GetTempPath(), $"wattstream-bench-{Guid.NewGuid():N}");
            _store = new SqliteReadingStore(Path.Combine(_directory, "bench.db"));
        }

        await _store.MigrateAsync();

        // A day of 1-s readings of one meter, for the query.
        var dayDer = new DerAddress("bench", "q", "meter", $"day-{Guid.NewGuid():N}");
        _queryDer = [dayDer];
        var day = Enumerable.Range(0, 86_400).Select(s => Meter(dayDer, s * 1000L, s)).ToArray();
        foreach (var chunk in day.Chunk(Batch))
        {
            await _store.WriteAsync(chunk);
        }

        _ingestDers = Enumerable.Range(0, 100).Select(i => new DerAddress("bench", "ingest", "gw", $"m{i}-{Guid.NewGuid():N}")).ToArray();
    }

    private DerAddress[] _ingestDers = null!;
    private long _generation;

    /// <summary>
    /// Fresh readings for every iteration: a duplicate would be skipped cheaply and flatter the figure. Their event ids
    /// grow as the hub's do (after the day's): until issue 31 every batch reused the sequences 0–4 999, which the hub
    /// never does, and the (epoch, seq) index took 5 000 inserts spread over all of it per batch instead of appends.
    /// </summary>
    [IterationSetup(Target = nameof(Ingest))]
    public void NewBatches()
    {
        var g = _generation++;
        _batches = Enumerable.Range(0, InvocationsPerIteration).Select(b => Enumerable.Range(0, Batch)
            .Select(i =>
            {
                var n = (((g * InvocationsPerIteration) + b) * Batch) + i;
                return Meter(_ingestDers[i % _ingestDers.Length], Day + (n * 10), 86_400 + n);
            })
            .ToArray()).ToArray();
        _next = 0;
    }

    private const int InvocationsPerIteration = 20;

    private static StoredReading Meter(DerAddress der, long ts, long seq) => new(
        new EventPosition(1, seq),
        new Reading(der, DerType.Meter, 1_767_225_600_000 + ts, 20,
        [
            new Measurement(Quantity.ActivePowerImport, 1.234, Unit.Kilowatt),
            new Measurement(Quantity.ActivePowerExport, 0, Unit.Kilowatt),
            new Measurement(Quantity.VoltageL1, 230.1, Unit.Volt),
            new Measurement(Quantity.VoltageL2, 229.8, Unit.Volt),
            new Measurement(Quantity.VoltageL3, 230.4, Unit.Volt),
            new Measurement(Quantity.CurrentL1, 1.2, Unit.Ampere),
            new Measurement(Quantity.EnergyImport, 47.251, Unit.KilowattHour),
            new Measurement(Quantity.EnergyExport, 8.965, Unit.KilowattHour),
        ]));

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        if (_directory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>One batch of 5000 readings; per operation = per reading.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    [InvocationCount(InvocationsPerIteration, 1)]
    public Task<int> Ingest() => _store.WriteAsync(_batches[_next++]);

    /// <summary>86 400 one-second readings of one DER into 1-minute averages.</summary>
    [Benchmark]
    public Task<IReadOnlyList<HistorySeries>> DayToMinutes() =>
        _store.QueryAsync(new HistoryQuery(_queryDer, 1_767_225_600_000, 1_767_225_600_000 + Day, 60_000, [HistoryField.W, HistoryField.L1V], Aggregate.Avg));
}
