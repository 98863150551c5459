using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Wattstream.Hub;
using Wattstream.Storage;
using Wattstream.Storage.Sqlite;
using Wattstream.Telemetry;
using Xunit.Abstractions;

namespace Wattstream.Server.Tests;

/// <summary>
/// The history store under faults, on real files and real processes: a corrupt database, a file that is no database, a
/// read-only folder or file, a folder that cannot be made, a full disk (a small tmpfs), a file-size limit (ulimit -f), a
/// long reader over a busy WAL, an online backup while the hub writes.
/// </summary>
public sealed class StoreStartupTests(ITestOutputHelper output) : IDisposable
{
    private static readonly DerAddress Meter = new("o", "s1", "d1", "m1");
    private readonly string _root = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"wattstream-store-{Guid.NewGuid():N}")).FullName;

    private string Data => Path.Combine(_root, "data");

    private string DatabasePath => Path.Combine(Data, StorageOptions.DatabaseFileName);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_corrupt_database_stops_the_start_with_one_line_naming_the_file_and_store_check_names_it_too()
    {
        await WriteStoreAsync(20_000);
        var sound = Path.Combine(_root, "sound.db");
        File.Copy(DatabasePath, sound);
        DamagedFiles.CorruptMiddle(DatabasePath, 16);
        var before = DamagedFiles.Fingerprint(DatabasePath);

        var start = await WattstreamProcess.RunAsync(Hub(Data));
        var check = await WattstreamProcess.RunAsync(["store", "check", $"--Storage:DataDirectory={Data}"]);

        AssertRefused(start, DatabasePath, "damaged", "restore it from a backup", "move it aside");
        Assert.Equal(before, DamagedFiles.Fingerprint(DatabasePath)); // the hub never wrote into it
        Assert.Equal(1, check.ExitCode);
        Assert.Contains(DatabasePath, check.Errors, StringComparison.Ordinal);
        Assert.Contains("damaged", check.Errors, StringComparison.Ordinal);

        File.Delete(DatabasePath);
        File.Move(sound, DatabasePath);
        var soundCheck = await WattstreamProcess.RunAsync(["store", "check", $"--Storage:DataDirectory={Data}"]);
        Assert.Equal(0, soundCheck.ExitCode);
        Assert.Contains($"{DatabasePath} is sound", soundCheck.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_history_query_that_meets_damage_answers_store_damaged_and_readyz_metrics_and_storage_say_so()
    {
        var (oldest, newest) = await WriteStoreAsync(20_000);
        DamagedFiles.CorruptMiddle(DatabasePath, 16);
        // Damage the start-up check would have refused: as if it came while the hub ran.
        await using var host = await WattstreamHost.StartAsync($"--Storage:DataDirectory={Data}", "--Storage:StartCheckTimeout=00:00:00", "--Storage:RetryInterval=00:00:00.100");

        using var history = await host.Client.GetAsync($"/api/history?der=m1&from={oldest}&to={newest + 1}&step=1m");
        var problem = JsonNode.Parse(await history.Content.ReadAsStringAsync())!;
        using var ready = await host.Client.GetAsync("/readyz");
        var readiness = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
        var metrics = await host.Client.GetStringAsync("/metrics");
        var storage = JsonNode.Parse(await host.Client.GetStringAsync("/api/storage"))!;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, history.StatusCode);
        Assert.Equal("store_damaged", (string?)problem["error"]);
        Assert.Contains(DatabasePath, (string?)problem["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("damaged", (string?)readiness["checks"]!["store"]!["detail"], StringComparison.Ordinal);
        Assert.Contains("wattstream_storage_damaged 1", metrics, StringComparison.Ordinal);
        Assert.NotNull((string?)storage["damage"]);

        // Nothing more is written into the damaged file, though the simulator keeps publishing.
        var written = (long)storage["written"]!;
        var fingerprint = DamagedFiles.Fingerprint(DatabasePath);
        await Task.Delay(1500);
        Assert.Equal(written, (long)JsonNode.Parse(await host.Client.GetStringAsync("/api/storage"))!["written"]!);
        Assert.Equal(fingerprint, DamagedFiles.Fingerprint(DatabasePath));
    }

    [Theory]
    [InlineData("overwritten")]
    [InlineData("truncated")]
    public async Task A_file_that_is_no_database_stops_the_start_with_one_line(string how)
    {
        await WriteStoreAsync(2_000);
        if (how == "overwritten")
        {
            await File.WriteAllTextAsync(DatabasePath, string.Concat(Enumerable.Repeat("this was a log file once\n", 400)));
        }
        else
        {
            await using var file = new FileStream(DatabasePath, FileMode.Open, FileAccess.Write);
            file.SetLength(60); // half a header
        }

        var start = await WattstreamProcess.RunAsync(Hub(Data));

        AssertRefused(start, DatabasePath, "not a SQLite database", "backup", "move it aside");
    }

    [Fact]
    public async Task A_read_only_data_folder_stops_the_start_with_one_line_naming_it()
    {
        await WriteStoreAsync(100);
        await using (await DamagedFiles.ReadOnlyFolderAsync(Data))
        {
            var start = await WattstreamProcess.RunAsync(Hub(Data));

            AssertRefused(start, Data, "not writable", "Storage:DataDirectory");
        }
    }

    [Fact]
    public async Task A_read_only_database_file_stops_the_start_and_leaves_no_wal_or_shm_behind()
    {
        await WriteStoreAsync(100);
        await using (await DamagedFiles.ReadOnlyFileAsync(DatabasePath))
        {
            var start = await WattstreamProcess.RunAsync(Hub(Data));

            AssertRefused(start, DatabasePath, "read-only", "write access");
            Assert.False(File.Exists(DatabasePath + "-wal"));
            Assert.False(File.Exists(DatabasePath + "-shm"));
        }
    }

    [Fact]
    public async Task A_data_folder_that_cannot_be_created_stops_the_start_with_one_line_naming_it()
    {
        var blocker = Path.Combine(_root, "a-file");
        await File.WriteAllTextAsync(blocker, "a file where a folder should go");
        var folder = Path.Combine(blocker, "data");

        var start = await WattstreamProcess.RunAsync(Hub(folder));

        AssertRefused(start, folder, "cannot create the data folder", "Storage:DataDirectory", $"{blocker} is a file");
    }

    [Fact]
    public async Task A_full_disk_at_start_stops_it_with_one_line_naming_the_folder()
    {
        // A small tmpfs, filled (as root); otherwise a file-size limit of 8 KiB, which SQLite meets the same way.
        var disk = Path.Combine(_root, "disk");
        await using var mounted = await DamagedFiles.SmallDiskAsync(disk, 256);
        (int ExitCode, string Output, string Errors) start;
        if (mounted is not null)
        {
            DamagedFiles.Fill(disk);
            start = await WattstreamProcess.RunAsync(Hub(disk));
        }
        else
        {
            Directory.CreateDirectory(disk);
            start = await WattstreamProcess.RunAsync(Hub(disk), fileSizeLimitKb: 8);
        }

        AssertRefused(start, disk, "full", "Storage:DataDirectory");
    }

    [Fact]
    public async Task Past_a_file_size_limit_the_hub_keeps_serving_and_reports_the_failed_writes()
    {
        await using var hub = await RunningHub.StartAsync(Data, fileSizeLimitKb: 1024, "--Simulation:Enabled=false", "--Storage:FlushInterval=00:00:00.050", "--Storage:RetryInterval=00:00:00.200");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        JsonNode storage = new JsonObject();
        for (var push = 0; push < 60 && storage["lastError"] is null; push++)
        {
            using var response = await hub.Client.PostAsync("/api/readings", Ndjson(Enumerable.Range(0, 2000).Select(i =>
                $$"""{"org":"o","site":"s","device":"d","der":"m{{i % 20}}","type":"meter","timestamp":{{now - 3_600_000 + (push * 2000) + i}},"W":{{i}},"L1_V":230.{{i}}}""")));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await Task.Delay(100);
            storage = JsonNode.Parse(await hub.Client.GetStringAsync("/api/storage"))!;
        }

        Assert.Contains("size limit", (string?)storage["lastError"], StringComparison.Ordinal);
        Assert.False(hub.Process.HasExited, hub.Output);
        using var more = await hub.Client.PostAsync("/api/readings", Ndjson([$$"""{"org":"o","site":"s","device":"d","der":"m0","type":"meter","timestamp":{{now}},"W":1}"""]));
        Assert.Equal(HttpStatusCode.OK, more.StatusCode); // live ingest goes on
        Assert.Equal(HttpStatusCode.OK, (await hub.Client.GetAsync("/healthz")).StatusCode);
        Assert.Contains("ulimit -f", hub.Output, StringComparison.Ordinal); // the log says why writes fail
    }

    [Fact]
    public async Task The_wal_shrinks_once_a_long_reader_lets_go_and_api_storage_and_metrics_show_its_size()
    {
        // About 2 000 readings a second (6 sites every 10 ms), while a reader of another connection holds one snapshot.
        await using var host = await WattstreamHost.StartAsync($"--Storage:DataDirectory={Data}", "--Simulation:Sites=6", "--Simulation:Interval=00:00:00.010");
        await Eventually.UntilAsync(() => File.Exists(DatabasePath + "-wal"), "the WAL");
        long peak = 0;
        await using (var reader = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False"))
        {
            await reader.OpenAsync();
            await using var snapshot = await reader.BeginTransactionAsync();
            await using (var command = reader.CreateCommand())
            {
                command.CommandText = "SELECT COUNT(*) FROM readings";
                await command.ExecuteScalarAsync(); // the read transaction now holds its snapshot, and the WAL with it
            }

            for (var second = 0; second < 25; second++)
            {
                await Task.Delay(1000);
                peak = Math.Max(peak, WalBytes(JsonNode.Parse(await host.Client.GetStringAsync("/api/storage"))!));
            }
        }

        Assert.True(peak > 4 << 20, $"the WAL grew to {peak} bytes under the reader");
        const long bound = 8 << 20; // docs/operations.md: about 4 MB and a batch, once no reader holds the WAL
        long after = long.MaxValue;
        await Eventually.UntilAsync(async () => (after = WalBytes(JsonNode.Parse(await host.Client.GetStringAsync("/api/storage"))!)) < bound && after < peak / 2, $"the WAL below {bound} bytes and half its peak of {peak}", TimeSpan.FromSeconds(30));
        output.WriteLine($"WAL: {peak} bytes at most under the reader, {after} bytes after it");
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(1000);
            var wal = new FileInfo(DatabasePath + "-wal").Length;
            output.WriteLine($"WAL: {wal} bytes");
            Assert.True(wal < bound, "the WAL stays bounded");
        }

        Assert.Matches(@"wattstream_storage_wal_bytes \d+", await host.Client.GetStringAsync("/metrics"));
    }

    private static long WalBytes(JsonNode storage) => (long)storage["size"]!["walBytes"]!;

    [Fact]
    public async Task Store_backup_copies_a_running_hub_consistently_with_every_acknowledged_reading()
    {
        await using var hub = await RunningHub.StartAsync(Data, fileSizeLimitKb: null, "--Simulation:Interval=00:00:00.020");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var durable = await hub.Client.PostAsync("/api/readings?durable=true", Ndjson(Enumerable.Range(0, 300).Select(i => $$"""{"org":"o","site":"s","device":"d","der":"kept","type":"meter","timestamp":{{now - 300 + i}},"W":{{i}}}"""))))
        {
            Assert.Equal(HttpStatusCode.OK, durable.StatusCode); // acknowledged: stored
        }

        var copy = Path.Combine(_root, "backup", "copy.db");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);

        var backup = await WattstreamProcess.RunAsync(["store", "backup", copy, $"--Storage:DataDirectory={Data}"]);
        var again = await WattstreamProcess.RunAsync(["store", "backup", copy, $"--Storage:DataDirectory={Data}"]);

        Assert.True(backup.ExitCode == 0, backup.Errors);
        Assert.Contains(copy, backup.Output, StringComparison.Ordinal);
        Assert.Empty(SqliteReadingStore.RunCheck(copy)); // integrity_check: ok
        Assert.False(File.Exists(copy + "-wal"), "the copy is one file");
        await using (var store = new SqliteReadingStore(copy))
        {
            var kept = await store.ReadEventsAsync([new DerAddress("o", "s", "d", "kept")], new EventPosition(0, 0), EventPosition.Max, 1000);
            Assert.Equal(300, kept.Count);
            Assert.True(await store.CountAsync() > 300, "the simulator's readings too");
        }

        Assert.Equal(1, again.ExitCode);
        Assert.Contains("exists", again.Errors, StringComparison.Ordinal);
        Assert.False(hub.Process.HasExited);
    }

    [Fact]
    public async Task With_postgresql_store_commands_point_to_its_tools_and_MaxBytes_is_refused()
    {
        string[] postgres = ["--Storage:PostgresConnectionString=Host=127.0.0.1;Username=u;Password=never-shown;Database=d"];

        var backup = await WattstreamProcess.RunAsync(["store", "backup", Path.Combine(_root, "x.db"), .. postgres]);
        var check = await WattstreamProcess.RunAsync(["store", "check", .. postgres]);
        var config = await WattstreamProcess.RunAsync(["config", "check", "--Storage:MaxBytes=100000000", .. postgres]);

        Assert.Equal(2, backup.ExitCode);
        Assert.Contains("pg_dump", backup.Errors, StringComparison.Ordinal);
        Assert.Equal(2, check.ExitCode);
        Assert.Equal(1, config.ExitCode);
        Assert.Contains("Storage:MaxBytes", config.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("never-shown", backup.Errors + check.Errors + config.Errors + config.Output, StringComparison.Ordinal);
    }

    /// <summary>Refused with exit 1 and one line on standard error naming what is wrong, and no stack trace anywhere.</summary>
    internal static void AssertRefused((int ExitCode, string Output, string Errors) run, params string[] mentions)
    {
        Assert.True(run.ExitCode == 1, $"exit {run.ExitCode}: {run.Output} {run.Errors}");
        var line = Assert.Single(run.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("wattstream: cannot start: ", line, StringComparison.Ordinal);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, line, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", run.Output + run.Errors, StringComparison.Ordinal);
    }

    internal static string[] Hub(string data, params string[] settings) =>
        ["--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={data}", "--Logging:LogLevel:Default=Warning", .. settings];

    private static StringContent Ndjson(IEnumerable<string> lines) => new(string.Join('\n', lines), Encoding.UTF8, "application/x-ndjson");

    // Readings of one meter, a second apart, ending an hour ago, in a store that is then closed (its WAL checkpointed).
    private async Task<(long Oldest, long Newest)> WriteStoreAsync(int count)
    {
        var newest = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds() / 1000 * 1000;
        var oldest = newest - ((count - 1) * 1000L);
        await using (var store = new SqliteReadingStore(DatabasePath))
        {
            await store.MigrateAsync();
            var readings = Enumerable.Range(0, count).Select(i => new StoredReading(
                new EventPosition(1, i + 1),
                new Reading(Meter, DerType.Meter, oldest + (i * 1000L), null, [new Measurement(Quantity.ActivePower, i % 4000, Unit.Watt), new Measurement(Quantity.VoltageL1, 230, Unit.Volt)])));
            foreach (var batch in readings.Chunk(5000))
            {
                await store.WriteAsync(batch);
            }
        }

        SqliteConnection.ClearAllPools();
        return (oldest, newest);
    }
}

/// <summary>PostgreSQL away at start: retried for Storage:StartTimeout, then one line naming the server, never the password.</summary>
public sealed class PostgresStartupTests(PostgresCluster cluster) : IClassFixture<PostgresCluster>
{
    [Fact]
    public async Task An_unreachable_server_is_retried_for_the_start_timeout_then_one_line_names_it_without_the_password()
    {
        using var down = LoopbackPort.Closed(out var port); // nothing listens there: a server that is down
        var watch = Stopwatch.StartNew();

        var start = await WattstreamProcess.RunAsync(StoreStartupTests.Hub(
            Path.Combine(Path.GetTempPath(), $"wattstream-unused-{Guid.NewGuid():N}"),
            $"--Storage:PostgresConnectionString=Host=127.0.0.1;Port={port};Username=hub;Password=pw-never-shown;Database=history;Timeout=2",
            "--Storage:StartTimeout=00:00:03"));

        StoreStartupTests.AssertRefused(start, $"127.0.0.1:{port}", "Storage:StartTimeout", "Storage:PostgresConnectionString");
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(3), "it kept trying for the start timeout");
        Assert.Contains("Trying again", start.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("pw-never-shown", start.Output + start.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_database_is_named_at_once_without_retrying()
    {
        var start = await WattstreamProcess.RunAsync(StoreStartupTests.Hub(
            Path.Combine(Path.GetTempPath(), $"wattstream-unused-{Guid.NewGuid():N}"),
            $"--Storage:PostgresConnectionString={cluster.ConnectionString("no_such_database")}",
            "--Storage:StartTimeout=00:00:30"));

        StoreStartupTests.AssertRefused(start, "no_such_database", "Create the database");
        Assert.DoesNotContain("Trying again", start.Output, StringComparison.Ordinal);
    }
}
