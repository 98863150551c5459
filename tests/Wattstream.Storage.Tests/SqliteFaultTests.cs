using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Storage.Sqlite;
using Wattstream.Telemetry;

namespace Wattstream.Storage.Tests;

/// <summary>
/// The SQLite store on real files gone wrong: pages overwritten with garbage, a check too long to finish, a read that
/// runs too long, a store over its size cap.
/// </summary>
public sealed class SqliteFaultTests : IDisposable
{
    private static readonly DerAddress Meter = new("o", "s1", "d1", "m1");
    private static readonly DerAddress Pv = new("o", "s1", "d1", "pv1");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wattstream-faults-{Guid.NewGuid():N}");
    private long _seq;

    private string DatabasePath => Path.Combine(_directory, "history.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_read_that_meets_corruption_marks_the_store_damaged_and_nothing_more_is_written_into_it()
    {
        var (oldest, newest) = await WriteStoreAsync(20_000, TimeSpan.FromSeconds(1));
        DamagedFiles.CorruptMiddle(DatabasePath, 16);
        var sound = new StorageOptions { StartCheckTimeout = TimeSpan.Zero }; // the start-up check would refuse the file (another test)
        await using var store = new SqliteReadingStore(DatabasePath, sound);
        await store.MigrateAsync();
        Assert.Null(store.Damage);

        var read = await Assert.ThrowsAsync<StoreDamagedException>(() => store.QueryAsync(new HistoryQuery([Meter, Pv], oldest, newest + 1, 60_000, [HistoryField.W], Aggregate.Avg)));

        Assert.Contains(DatabasePath, read.Message, StringComparison.Ordinal);
        Assert.NotNull(store.Damage);
        var before = DamagedFiles.Fingerprint(DatabasePath);
        await Assert.ThrowsAsync<StoreDamagedException>(() => store.WriteAsync([At(Meter, newest + 1000, 1)]));
        await Assert.ThrowsAsync<StoreDamagedException>(() => store.DeleteOlderThanAsync(newest));
        Assert.Equal(before, DamagedFiles.Fingerprint(DatabasePath));
    }

    [Fact]
    public async Task The_start_check_refuses_a_damaged_file_in_one_line_before_writing_into_it()
    {
        await WriteStoreAsync(20_000, TimeSpan.FromSeconds(1));
        DamagedFiles.CorruptMiddle(DatabasePath, 16);
        var before = DamagedFiles.Fingerprint(DatabasePath);
        await using var store = new SqliteReadingStore(DatabasePath);

        var refused = await Assert.ThrowsAsync<StoreStartException>(() => store.MigrateAsync());

        Assert.Contains(DatabasePath, refused.Message, StringComparison.Ordinal);
        Assert.Contains("damaged", refused.Message, StringComparison.Ordinal);
        Assert.Contains("backup", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.False(refused.Transient);
        await Assert.ThrowsAsync<StoreDamagedException>(() => store.WriteAsync([At(Meter, 1, 1)]));
        Assert.Equal(before, DamagedFiles.Fingerprint(DatabasePath));
        Assert.NotEmpty(SqliteReadingStore.RunCheck(DatabasePath)); // what `wattstream store check` runs
    }

    [Fact]
    public async Task A_start_check_that_runs_past_its_time_is_cut_short_and_said_so_and_the_store_opens()
    {
        await WriteStoreAsync(100_000, TimeSpan.FromSeconds(1));
        var log = new ListLogger();
        await using var store = new SqliteReadingStore(DatabasePath, new StorageOptions { StartCheckTimeout = TimeSpan.FromMilliseconds(5) }, log);

        await store.MigrateAsync();

        Assert.Contains(log.Lines, l => l.Contains("cut short", StringComparison.Ordinal) && l.Contains("Storage:StartCheckTimeout", StringComparison.Ordinal));
        Assert.Equal(100_000, await store.CountAsync());
    }

    [Fact]
    public async Task A_history_query_past_the_query_timeout_is_stopped()
    {
        var (oldest, newest) = await WriteStoreAsync(100_000, TimeSpan.FromSeconds(1));
        await using var store = new SqliteReadingStore(DatabasePath, new StorageOptions { QueryTimeout = TimeSpan.FromMilliseconds(1) });

        var stopped = await Assert.ThrowsAsync<StoreQueryTimeoutException>(() => store.QueryAsync(new HistoryQuery([Meter, Pv], oldest, newest + 1, 1000, [HistoryField.W, HistoryField.L1V], Aggregate.Avg)));

        Assert.Contains("Storage:QueryTimeout", stopped.Message, StringComparison.Ordinal);
        Assert.Null(store.Damage);
    }

    [Fact]
    public async Task Past_MaxBytes_the_oldest_readings_are_deleted_first_and_said_so()
    {
        var (oldest, newest) = await WriteStoreAsync(60_000, TimeSpan.FromSeconds(10));
        var log = new ListLogger();
        await using var store = new SqliteReadingStore(DatabasePath);
        var used = (await store.MeasureAsync())!.UsedBytes;
        var count = await store.CountAsync();
        var cap = used / 2;
        var retention = new RetentionService(store, Options.Create(new StorageOptions { MaxBytes = cap }), TimeProvider.System, log);

        await retention.RunOnceAsync(CancellationToken.None);

        var size = (await store.MeasureAsync())!;
        var range = (await store.TimeRangeAsync())!;
        var left = await store.CountAsync();
        Assert.True(size.UsedBytes <= cap, $"{size.UsedBytes} bytes used, cap {cap}");
        Assert.True(left is > 0 && left < count, $"{left} of {count} left");
        Assert.Equal(count - left, retention.DeletedForSize);
        Assert.True(range.Oldest > oldest, "the oldest readings went first");
        Assert.Equal(newest, range.Newest); // the newest stay
        Assert.True(retention.SizeCutoff <= range.Oldest, "everything before the cutoff is gone, nothing after it");
        Assert.Contains(log.Lines, l => l.Contains("Storage:MaxBytes", StringComparison.Ordinal) && l.Contains((count - left).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        await retention.RunOnceAsync(CancellationToken.None); // under the cap now: nothing more goes
        Assert.Equal(left, await store.CountAsync());
    }

    // Readings of a meter and a PV inverter, every `spacing`, ending an hour ago; the store is closed afterwards, so the
    // WAL is checkpointed into the file.
    private async Task<(long Oldest, long Newest)> WriteStoreAsync(int count, TimeSpan spacing)
    {
        var newest = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds() / 1000 * 1000;
        var oldest = newest - ((count / 2) - 1) * (long)spacing.TotalMilliseconds;
        await using (var store = new SqliteReadingStore(DatabasePath))
        {
            await store.MigrateAsync();
            for (var start = 0; start < count / 2; start += 5000)
            {
                var batch = new List<StoredReading>();
                for (var i = start; i < Math.Min(count / 2, start + 5000); i++)
                {
                    var ts = oldest + i * (long)spacing.TotalMilliseconds;
                    batch.Add(At(Meter, ts, i % 5000));
                    batch.Add(At(Pv, ts, -(i % 3000)));
                }

                await store.WriteAsync(batch);
            }
        }

        SqliteConnection.ClearAllPools();
        return (oldest, newest);
    }

    private StoredReading At(DerAddress der, long ts, double watts) => new(
        new EventPosition(1, ++_seq),
        new Reading(der, der == Pv ? DerType.Pv : DerType.Meter, ts, null,
            [new Measurement(Quantity.ActivePower, watts, Unit.Watt), new Measurement(Quantity.VoltageL1, 230 + (watts % 7), Unit.Volt)]));

    private sealed class ListLogger : ILogger<SqliteReadingStore>, ILogger<RetentionService>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }
}
