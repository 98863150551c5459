using Microsoft.Extensions.Logging.Abstractions;
using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Storage.Tests;

/// <summary>What every store must do; each implementation runs these against a real database.</summary>
public abstract class ReadingStoreContract : IAsyncLifetime
{
    protected static readonly DerAddress Meter = new("o", "s1", "d1", "m1");
    protected static readonly DerAddress Battery = new("o", "s1", "d2", "b1");
    private const long T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a whole minute
    private long _seq;

    protected IReadingStore Store { get; private set; } = null!;

    protected abstract Task<IReadingStore> CreateStoreAsync();

    /// <summary>Another store on the same database (as after a restart of the hub).</summary>
    protected abstract Task<IReadingStore> OpenAgainAsync();

    /// <summary>Runs SQL on the store's database from outside the store, with <paramref name="payload"/> as <c>@p</c>; its first value.</summary>
    protected abstract Task<object?> SqlAsync(string sql, byte[]? payload = null);

    public async Task InitializeAsync()
    {
        Store = await CreateStoreAsync();
        await Store.MigrateAsync();
    }

    public async Task DisposeAsync() => await Store.DisposeAsync();

    private StoredReading MeterAt(long ms, double watts, double? l1Volts = 230) => new(
        new EventPosition(1, ++_seq),
        new Reading(Meter, DerType.Meter, T0 + ms, 20, l1Volts is null
            ? [new Measurement(Quantity.ActivePower, watts, Unit.Watt)]
            : [new Measurement(Quantity.ActivePower, watts, Unit.Watt), new Measurement(Quantity.VoltageL1, l1Volts.Value, Unit.Volt)]));

    [Fact]
    public async Task Downsampling_matches_a_hand_computed_case()
    {
        // Minute 0: 100, 200, 600 W at 0, 20, 40 s. Minute 1: 50 W at 70 s, then a reading without voltage at 110 s. Minute 3: 10 W.
        await Store.WriteAsync([MeterAt(0, 100), MeterAt(20_000, 200, 229), MeterAt(40_000, 600, 233), MeterAt(70_000, 50), MeterAt(110_000, 70, null), MeterAt(180_000, 10)]);

        async Task<IReadOnlyList<HistoryPoint>> Query(Aggregate agg) =>
            (await Store.QueryAsync(new HistoryQuery([Meter], T0, T0 + 240_000, 60_000, [HistoryField.W, HistoryField.L1V], agg))).Single().Points;

        var avg = await Query(Aggregate.Avg);
        Assert.Equal([T0, T0 + 60_000, T0 + 180_000], avg.Select(p => p.Time));
        Assert.Equal(300, avg[0].Values[0]);
        Assert.Equal(230.66666666666666, avg[0].Values[1]!.Value, 9);
        Assert.Equal(60, avg[1].Values[0]);
        Assert.Equal(230, avg[1].Values[1]); // the reading without voltage does not count as 0
        Assert.Equal([100.0, 50, 10], (await Query(Aggregate.Min)).Select(p => p.Values[0]!.Value));
        Assert.Equal([600.0, 70, 10], (await Query(Aggregate.Max)).Select(p => p.Values[0]!.Value));
        var last = await Query(Aggregate.Last);
        Assert.Equal([600.0, 70, 10], last.Select(p => p.Values[0]!.Value));
        Assert.Null(last[1].Values[1]); // the last reading of minute 1 had no voltage
    }

    [Fact]
    public async Task A_reading_with_the_same_der_and_timestamp_is_stored_once()
    {
        Assert.Equal(2, await Store.WriteAsync([MeterAt(0, 1), MeterAt(1000, 2)]));

        Assert.Equal(1, await Store.WriteAsync([MeterAt(0, 99), MeterAt(2000, 3)]));

        Assert.Equal(3, await Store.CountAsync());
        var points = (await Store.QueryAsync(new HistoryQuery([Meter], T0, T0 + 1, 1000, [HistoryField.W], Aggregate.Last))).Single().Points;
        Assert.Equal(1, points.Single().Values[0]); // the first one stays
    }

    [Fact]
    public async Task Series_come_per_der_and_an_unknown_der_has_none()
    {
        var soc = new StoredReading(new EventPosition(1, 1000), new Reading(Battery, DerType.Battery, T0, null, [new Measurement(Quantity.StateOfCharge, 64, Unit.Percent)]));
        await Store.WriteAsync([MeterAt(0, 5), soc]);

        var series = await Store.QueryAsync(new HistoryQuery([Meter, Battery, new DerAddress("o", "s9", "d", "x")], T0, T0 + 60_000, 60_000, [HistoryField.W, HistoryField.Soc], Aggregate.Avg));

        Assert.Equal(3, series.Count);
        Assert.Equal(5, series[0].Points.Single().Values[0]);
        Assert.Null(series[0].Points.Single().Values[1]);
        Assert.Equal(0.64, series[1].Points.Single().Values[1]!.Value, 9); // stored as a fraction
        Assert.Empty(series[2].Points);
    }

    [Fact]
    public async Task Events_are_read_back_in_order_between_positions_losslessly()
    {
        var original = new Reading(Meter, DerType.Meter, T0 + 5, 12.5,
            [new Measurement(Quantity.ActivePowerImport, 0.036, Unit.Kilowatt), new Measurement(Quantity.ActiveTariff, 2, Unit.None)],
            [new ReadingField(PropertyNames.LocalDate, "\"2026-01-01\""u8.ToArray())],
            [new ReadingField("Foo", "{\"a\":[1,2]}"u8.ToArray())],
            "whatwatt");
        await Store.WriteAsync([MeterAt(0, 1), MeterAt(1000, 2), new StoredReading(new EventPosition(2, 1), original), MeterAt(3000, 4)]);

        var after = await Store.ReadEventsAsync([Meter], new EventPosition(1, 1), EventPosition.Max, 100);
        var bounded = await Store.ReadEventsAsync([Meter], new EventPosition(1, 0), new EventPosition(2, 1), 100);
        var limited = await Store.ReadEventsAsync([Meter], new EventPosition(0, 0), EventPosition.Max, 2);

        Assert.Equal([new EventPosition(1, 2), new EventPosition(1, 3), new EventPosition(2, 1)], after.Select(e => e.Event));
        Assert.Equal([new EventPosition(1, 1), new EventPosition(1, 2), new EventPosition(1, 3)], bounded.Select(e => e.Event));
        Assert.Equal(2, limited.Count);
        var back = after[^1].Reading;
        Assert.Equal(original.Measurements, back.Measurements);
        Assert.Equal(original.Timestamp, back.Timestamp);
        Assert.Equal(12.5, back.ReadTimeMs);
        Assert.Equal("\"2026-01-01\"", back.Properties.Single().RawText);
        Assert.Equal("{\"a\":[1,2]}", back.Extras.Single().RawText);
        Assert.Equal("whatwatt", back.ExtrasOrigin);
        Assert.Equal(Meter, back.Der);
    }

    [Fact]
    public async Task A_database_of_version_1_is_migrated_and_its_json_rows_read_as_they_were()
    {
        // A row as version 1 wrote it: the typed columns, and the whole reading as JSON in the payload.
        var old = new Reading(Meter, DerType.Meter, T0 + 500, 7,
            [new Measurement(Quantity.ActivePower, 36, Unit.Watt), new Measurement(Quantity.VoltageL1, 230, Unit.Volt), new Measurement(Quantity.EnergyImport, 1.5, Unit.KilowattHour)],
            [new ReadingField(PropertyNames.LocalDate, "\"2026-01-01\""u8.ToArray())]);
        await Store.WriteAsync([MeterAt(0, 1)]);
        await SqlAsync(
            $"INSERT INTO readings (der_id, ts, epoch, seq, w, l1_v, import_wh, payload) SELECT id, {T0 + 500}, 1, 100, 36, 230, 1500, @p FROM ders WHERE subject = '{Meter.Subject}'",
            Telemetry.Formats.ReadingJson.ToUtf8(old));
        await SqlAsync("DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (1)");

        await using var again = await OpenAgainAsync();
        await again.MigrateAsync();
        await again.WriteAsync([MeterAt(1000, 2)]);

        Assert.Equal(2L, Convert.ToInt64(await SqlAsync("SELECT MAX(version) FROM schema_version")));
        var events = await again.ReadEventsAsync([Meter], new EventPosition(0, 0), EventPosition.Max, 100);
        Assert.Equal([T0, T0 + 500, T0 + 1000], events.Select(e => e.Reading.Timestamp).Order());
        var back = events.Single(e => e.Event == new EventPosition(1, 100)).Reading;
        Assert.Equal(Telemetry.Formats.ReadingJson.ToUtf8(old), Telemetry.Formats.ReadingJson.ToUtf8(back));
        var w = (await again.QueryAsync(new HistoryQuery([Meter], T0, T0 + 2000, 1000, [HistoryField.W], Aggregate.Last))).Single().Points;
        Assert.Equal([36.0, 2], w.Select(p => p.Values[0]!.Value)); // the old row's column counts: it is the last of T0's second
    }

    [Fact]
    public async Task A_reading_is_read_back_the_same_to_the_byte_with_its_payload_holding_only_what_the_columns_do_not()
    {
        var reading = new Reading(Meter, DerType.Meter, T0 + 7, 20,
        [
            new Measurement(Quantity.ActivePowerImport, 1.234, Unit.Kilowatt), new Measurement(Quantity.ActivePowerExport, 0, Unit.Kilowatt),
            new Measurement(Quantity.VoltageL1, 230.1, Unit.Volt), new Measurement(Quantity.VoltageL2, -0.0, Unit.Volt), new Measurement(Quantity.CurrentL1, 1.2, Unit.Ampere),
            new Measurement(Quantity.EnergyImport, 0.1 + 0.2, Unit.KilowattHour), new Measurement(Quantity.EnergyExport, 8.965, Unit.KilowattHour),
            new Measurement(Quantity.VoltageL1, 231, Unit.Volt),
        ]);
        await Store.WriteAsync([new StoredReading(new EventPosition(3, 1), reading)]);

        var back = (await Store.ReadEventsAsync([Meter], new EventPosition(0, 0), EventPosition.Max, 10)).Single().Reading;
        var payload = (byte[])(await SqlAsync("SELECT payload FROM readings"))!;

        Assert.Equal(Telemetry.Formats.ReadingJson.ToUtf8(reading), Telemetry.Formats.ReadingJson.ToUtf8(back));
        Assert.False(StoredPayload.IsJson(payload));
        Assert.True(payload.Length < 80, $"{payload.Length} bytes");
    }

    [Fact]
    public async Task Retention_deletes_only_older_readings()
    {
        await Store.WriteAsync([MeterAt(0, 1), MeterAt(60_000, 2), MeterAt(120_000, 3)]);

        Assert.Equal(2, await Store.DeleteOlderThanAsync(T0 + 120_000));

        Assert.Equal(1, await Store.CountAsync());
    }

    [Fact]
    public async Task Migrating_again_keeps_the_data()
    {
        await Store.WriteAsync([MeterAt(0, 1)]);

        await Store.MigrateAsync();

        Assert.Equal(1, await Store.CountAsync());
    }

    [Fact]
    public async Task Reads_about_more_ders_than_a_statement_may_have_variables()
    {
        // SQLite allows 32 766 variables in a statement: one per DER would fail here.
        var ders = Enumerable.Range(0, 40_000).Select(i => new DerAddress("big", "s", "d", $"m{i}")).ToArray();
        await Store.WriteAsync(ders.Select((d, i) => new StoredReading(new EventPosition(1, i + 1), new Reading(d, DerType.Meter, T0 + i, null, [new Measurement(Quantity.ActivePower, i, Unit.Watt)]))).ToArray());

        var events = await Store.ReadEventsAsync(ders, new EventPosition(0, 0), EventPosition.Max, 100);
        var series = await Store.QueryAsync(new HistoryQuery(ders, T0, T0 + 60_000, 60_000, [HistoryField.W], Aggregate.Avg));
        var listed = await Store.ListDersAsync();

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), events.Select(e => e.Event.Sequence));
        Assert.Equal(40_000, series.Count(s => s.Points.Count == 1));
        Assert.Equal(39_999, series.Single(s => s.Der.Der == "m39999").Points.Single().Values[0]);
        Assert.Equal(40_000, listed.Count(d => d.Der.Org == "big"));
        Assert.Equal(T0 + 7, listed.Single(d => d.Der.Der == "m7").LastTimestamp);
    }

    [Fact]
    public async Task The_writer_flushes_everything_queued_at_shutdown()
    {
        var hub = new TelemetryHub();
        var writer = new HistoryWriter(Store, hub, Microsoft.Extensions.Options.Options.Create(new StorageOptions { FlushInterval = TimeSpan.FromSeconds(30), BatchSize = 1000 }), TimeProvider.System, NullLogger<HistoryWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 2500; i++)
        {
            hub.Publish(new Reading(Meter, DerType.Meter, T0 + (i * 1000L), null, [new Measurement(Quantity.ActivePower, i, Unit.Watt)]));
        }

        hub.CompleteAll(); // as at host shutdown
        await writer.StopAsync(CancellationToken.None);

        Assert.True(2500 == await Store.CountAsync(), writer.Status.ToString());
        Assert.Equal(2500, writer.Status.Written);
        Assert.Equal(0, writer.Status.Dropped);
    }

    // A host's stop ends the streams first (ApplicationStopping completes the hub's subscriptions) and stops the sources
    // (the simulator, every interval) only after: what they publish in between is given ids, and a clean stop notes the
    // next id as if every one was stored (StoreEpoch). The history writer's subscription must not end before its own stop.
    [Fact]
    public async Task The_writer_stores_what_is_published_after_the_streams_end_until_its_own_stop()
    {
        var hub = new TelemetryHub();
        var writer = new HistoryWriter(Store, hub, Microsoft.Extensions.Options.Options.Create(new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(50) }), TimeProvider.System, NullLogger<HistoryWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 10; i++)
        {
            hub.Publish(new Reading(Meter, DerType.Meter, T0 + (i * 1000L), null, [new Measurement(Quantity.ActivePower, i, Unit.Watt)]));
        }

        hub.CompleteAll(); // ApplicationStopping: the streams end
        for (var i = 10; i < 20; i++)
        {
            hub.Publish(new Reading(Meter, DerType.Meter, T0 + (i * 1000L), null, [new Measurement(Quantity.ActivePower, i, Unit.Watt)])); // a source not stopped yet
        }

        await writer.StopAsync(CancellationToken.None);

        var stored = await Store.ReadEventsAsync([Meter], new EventPosition(0, 0), EventPosition.Max, 100);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), stored.Select(s => s.Event.Sequence));
        Assert.Equal(hub.NextSequence - 1, stored[^1].Event.Sequence);
    }

    private Alerts.IAlertStore AlertStore() => ((IDatabaseStore)Store).CreateAlertStore();

    [Fact]
    public async Task Alert_rules_are_saved_replaced_listed_and_deleted()
    {
        var alerts = AlertStore();
        await alerts.MigrateAsync();
        await alerts.MigrateAsync(); // idempotent
        await alerts.SaveRuleAsync(new Alerts.StoredAlertRule("b", "acme", null, """{"id":"b"}""", 1));
        await alerts.SaveRuleAsync(new Alerts.StoredAlertRule("a", "acme", "home", """{"id":"a"}""", 2));
        await alerts.SaveRuleAsync(new Alerts.StoredAlertRule("b", "acme", "cabin", """{"id":"b","threshold":5}""", 3));

        var rules = await alerts.ListRulesAsync();
        Assert.Equal(["a", "b"], rules.Select(r => r.Id));
        Assert.Equal(new Alerts.StoredAlertRule("b", "acme", "cabin", """{"id":"b","threshold":5}""", 3), rules[1]);
        Assert.True(await alerts.DeleteRuleAsync("a"));
        Assert.False(await alerts.DeleteRuleAsync("a"));
        Assert.Equal(["b"], (await alerts.ListRulesAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task Alerts_get_growing_ids_and_queries_filter_by_scope_state_type_time_and_id()
    {
        var alerts = AlertStore();
        await alerts.MigrateAsync();
        var ids = new List<long>();
        foreach (var (org, site, state, type, ts) in new[]
        {
            ("acme", "home", "firing", "low_voltage", 1000L),
            ("acme", "home", "resolved", "low_voltage", 2000L),
            ("acme", "cabin", "firing", "stale", 3000L),
            ("globex", "home", "firing", "low_voltage", 4000L),
        })
        {
            ids.Add(await alerts.AppendAsync(new Alerts.StoredAlert(0, "r", type, state, org, site, "gw/m1", ts, System.Text.Encoding.UTF8.GetBytes($$"""{"ts":{{ts}}}"""))));
        }

        Assert.Equal(ids.Order(), ids);
        Assert.Equal(4, ids.Distinct().Count());
        async Task<long[]> Query(Alerts.AlertQuery q) => [.. (await alerts.QueryAsync(q)).Select(a => a.Id)];

        Assert.Equal(ids.Take(3), await Query(new Alerts.AlertQuery { Orgs = ["acme"] }));
        Assert.Equal([ids[0], ids[1]], await Query(new Alerts.AlertQuery { Orgs = ["acme"], Sites = ["home"] }));
        Assert.Empty(await Query(new Alerts.AlertQuery { Orgs = [] }));
        Assert.Equal([ids[0], ids[2], ids[3]], await Query(new Alerts.AlertQuery { State = "firing" }));
        Assert.Equal([ids[2]], await Query(new Alerts.AlertQuery { Type = "stale" }));
        Assert.Equal([ids[1], ids[2]], await Query(new Alerts.AlertQuery { From = 2000, To = 4000 }));
        Assert.Equal([ids[3], ids[2]], await Query(new Alerts.AlertQuery { AfterId = ids[1], NewestFirst = true }));
        Assert.Equal([ids[1]], await Query(new Alerts.AlertQuery { BeforeId = ids[2], NewestFirst = true, Limit = 1 }));
        var one = (await alerts.QueryAsync(new Alerts.AlertQuery { Site = "cabin" })).Single();
        Assert.Equal(new Alerts.StoredAlert(ids[2], "r", "stale", "firing", "acme", "cabin", "gw/m1", 3000, one.Body), one);
        Assert.Equal("""{"ts":3000}""", System.Text.Encoding.UTF8.GetString(one.Body));

        Assert.Equal(2, await alerts.DeleteOlderThanAsync(3000)); // retention
        Assert.Equal([ids[2], ids[3]], await Query(new Alerts.AlertQuery()));
    }
}

public sealed class SqliteStoreTests : ReadingStoreContract, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wattstream-sqlite-{Guid.NewGuid():N}");

    protected override Task<IReadingStore> CreateStoreAsync() =>
        Task.FromResult<IReadingStore>(new Sqlite.SqliteReadingStore(Path.Combine(_directory, "history.db")));

    protected override Task<IReadingStore> OpenAgainAsync() => CreateStoreAsync();

    protected override async Task<object?> SqlAsync(string sql, byte[]? payload = null)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, "history.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (payload is not null)
        {
            command.Parameters.AddWithValue("@p", payload);
        }

        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task Writes_queue_on_the_writer_thread_and_closing_waits_for_those_queued()
    {
        // Twenty batches queued at once, and the store closed before any is awaited: every one lands (the writer
        // thread runs what was queued before it closes the connection), each exactly once; a closed store refuses.
        var path = Path.Combine(_directory, "queued.db");
        var store = new Sqlite.SqliteReadingStore(path);
        await store.MigrateAsync();
        var writes = Enumerable.Range(0, 20).Select(i => store.WriteAsync(
            [new StoredReading(new EventPosition(1, i + 1), new Reading(Meter, DerType.Meter, 1_767_225_600_000 + (i * 1000), null, [new Measurement(Quantity.ActivePower, i, Unit.Watt)]))])).ToArray();
        await store.DisposeAsync();

        Assert.Equal(Enumerable.Repeat(1, 20), await Task.WhenAll(writes));
        await using var reopened = new Sqlite.SqliteReadingStore(path);
        Assert.Equal(20, await reopened.CountAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.WriteAsync([]));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

[CollectionDefinition("postgres")]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>;

[Collection("postgres")]
public sealed class PostgresStoreTests(PostgresCluster cluster) : ReadingStoreContract
{
    private string _connectionString = "";

    protected override async Task<IReadingStore> CreateStoreAsync() => new Postgres.PostgresReadingStore(_connectionString = await cluster.CreateDatabaseAsync());

    protected override Task<IReadingStore> OpenAgainAsync() => Task.FromResult<IReadingStore>(new Postgres.PostgresReadingStore(_connectionString));

    protected override async Task<object?> SqlAsync(string sql, byte[]? payload = null)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        if (payload is not null)
        {
            command.Parameters.AddWithValue("p", payload);
        }

        return await command.ExecuteScalarAsync();
    }
}
