using System.Buffers;
using Npgsql;
using NpgsqlTypes;
using Wattstream.Telemetry;
using Alerts = Wattstream.Storage.Alerts;

namespace Wattstream.Storage.Postgres;

/// <summary>
/// Readings in PostgreSQL. A batch is copied in binary (<c>COPY … FROM STDIN (FORMAT BINARY)</c>) straight into
/// <c>readings</c>, in one transaction; while duplicates come, into a temporary table and moved into <c>readings</c>
/// with <c>ON CONFLICT DO NOTHING</c> instead (<see cref="WriteDirectOrStagedAsync"/>).
/// </summary>
public sealed class PostgresReadingStore(string connectionString) : IDatabaseStore
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Dictionary<string, long> _derIds = new(StringComparer.Ordinal);
    private bool _staged; // under _writeGate

    public string Kind => "postgres";

    public Alerts.IAlertStore CreateAlertStore() => new Alerts.SqlAlertStore(async ct => await _dataSource.OpenConnectionAsync(ct), postgres: true);

    public Audit.IAuditStore CreateAuditStore() => new Audit.SqlAuditStore(async ct => await _dataSource.OpenConnectionAsync(ct), postgres: true);

    public SqlEventEpochs CreateEventEpochs() => new(async ct => await _dataSource.OpenConnectionAsync(ct), postgres: true);

    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await MigrateSchemaAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            throw StartFailure(e);
        }
    }

    // One line naming the server (never the password) and what to do. A server that is away or starting up is worth
    // retrying (Storage:StartTimeout); a refused login or a missing database is not.
    private StoreStartException StartFailure(Exception e)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        var where = $"PostgreSQL at {settings.Host}:{settings.Port} (database {settings.Database ?? settings.Username}, Storage:PostgresConnectionString)";
        return e switch
        {
            PostgresException { SqlState: "28P01" or "28000" } p => new StoreStartException($"{where} refused the login of '{settings.Username}': {p.MessageText}. Fix the user or password.", inner: e),
            PostgresException { SqlState: "3D000" } p => new StoreStartException($"{where}: {p.MessageText}. Create the database, or fix its name.", inner: e),
            PostgresException { SqlState: "57P03" or "53300" } p => new StoreStartException($"{where} is not taking connections yet: {p.MessageText}.", transient: true, inner: e),
            PostgresException p => new StoreStartException($"{where}: {p.MessageText}.", inner: e),
            _ => new StoreStartException($"cannot reach {where}: {Reason(e)}. Start the server, or fix the host and port.", transient: true, inner: e),
        };
    }

    private static string Reason(Exception e)
    {
        var reasons = new List<string>();
        for (var current = e; current is not null; current = current.InnerException)
        {
            reasons.Add(current.Message.TrimEnd('.'));
        }

        return string.Join(": ", reasons.Distinct());
    }

    public string? Damage => null;

    public StoreSize? Size => null;

    public Task<StoreSize?> MeasureAsync(CancellationToken cancellationToken = default) => Task.FromResult<StoreSize?>(null);

    public async Task<StoredTimeRange?> TimeRangeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await HistoryQueries.TimeRangeAsync(connection, cancellationToken);
    }

    private async Task MigrateSchemaAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // One migrator at a time, even with several hubs on one database.
        await ExecuteAsync(connection, tx, "SELECT pg_advisory_xact_lock(727272); CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", cancellationToken);
        await using (var get = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_version", connection, tx))
        {
            var version = (int)(await get.ExecuteScalarAsync(cancellationToken))!;
            if (version > HistorySql.SchemaVersion)
            {
                throw new InvalidOperationException($"The database has schema version {version}, newer than this Wattstream ({HistorySql.SchemaVersion}).");
            }

            if (version < HistorySql.SchemaVersion)
            {
                if (version < 1)
                {
                    await ExecuteAsync(connection, tx, HistorySql.CreateSchema(postgres: true), cancellationToken);
                }

                // 1 → 2: new rows hold a smaller payload (StoredPayload); old rows stay as they are. The foreign key
                // of readings to ders goes: the writer checks its DER ids once a batch instead of once a row.
                await ExecuteAsync(connection, tx, "ALTER TABLE readings DROP CONSTRAINT IF EXISTS readings_der_id_fkey;", cancellationToken);
                await ExecuteAsync(connection, tx, $"DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({HistorySql.SchemaVersion});", cancellationToken);
            }
        }

        await tx.CommitAsync(cancellationToken);
    }

    public async Task<int> WriteAsync(IReadOnlyList<StoredReading> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            try
            {
                return await WriteDirectOrStagedAsync(batch, cancellationToken);
            }
            catch (Exception e) when (e is StaleDerIdsException or PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation })
            {
                // A DER id cached here is gone from the database: a commit the server lost when it was killed (it had
                // acknowledged it without waiting for the disk), or a database restored from an older backup, or a failover.
                // Without this the writer retried the same dead ids forever. Look every DER up again.
                _derIds.Clear();
                return await WriteDirectOrStagedAsync(batch, cancellationToken);
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    // A batch is copied straight into readings while the store sees no duplicates (one hub on its own database): the
    // staging table and the INSERT … ON CONFLICT that moves its rows cost as much as the copy itself (issue 31). A
    // duplicate fails that copy (the unique key); the batch is then written through the staging table, and so is every
    // batch after it until one has no duplicate (several hubs on one database, where every reading comes from each).
    private async Task<int> WriteDirectOrStagedAsync(IReadOnlyList<StoredReading> batch, CancellationToken cancellationToken)
    {
        if (_staged)
        {
            var inserted = await WriteBatchAsync(batch, direct: false, cancellationToken);
            _staged = inserted < batch.Count;
            return inserted;
        }

        try
        {
            return await WriteBatchAsync(batch, direct: true, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            _staged = true;
            return await WriteBatchAsync(batch, direct: false, cancellationToken);
        }
    }

    private async Task<int> WriteBatchAsync(IReadOnlyList<StoredReading> batch, bool direct, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var derIds = new long[batch.Count];
        var newDers = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Count; i++)
        {
            derIds[i] = await DerIdAsync(connection, tx, batch[i].Reading.Der, batch[i].Reading.Type, newDers, cancellationToken);
        }

        await CheckCachedDerIdsAsync(connection, tx, derIds, newDers, cancellationToken);
        if (!direct)
        {
            await ExecuteAsync(connection, tx, "CREATE TEMP TABLE IF NOT EXISTS readings_stage (LIKE readings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;", cancellationToken);
        }

        var columns = $"der_id, ts, epoch, seq, {HistorySql.FieldColumns}, payload";
        int inserted;
        await using (var copy = await connection.BeginBinaryImportAsync($"COPY {(direct ? "readings" : "readings_stage")} ({columns}) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            var fields = HistoryFields.All;
            var values = new double?[fields.Count];
            var payload = new ArrayBufferWriter<byte>(512); // each row's, reused: the copy has taken it when its write completes
            for (var i = 0; i < batch.Count; i++)
            {
                var item = batch[i];
                var r = item.Reading;
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(derIds[i], NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(r.Timestamp, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(item.Event.Epoch, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(item.Event.Sequence, NpgsqlDbType.Bigint, cancellationToken);
                for (var f = 0; f < fields.Count; f++)
                {
                    values[f] = fields[f].ValueOf(r);
                    if (values[f] is { } v)
                    {
                        await copy.WriteAsync(v, NpgsqlDbType.Double, cancellationToken);
                    }
                    else
                    {
                        await copy.WriteNullAsync(cancellationToken);
                    }
                }

                // Only what the columns do not hold (schema version 2).
                payload.ResetWrittenCount();
                StoredPayload.Write(r, values, payload);
                await copy.WriteAsync(payload.WrittenMemory, NpgsqlDbType.Bytea, cancellationToken);
            }

            inserted = (int)await copy.CompleteAsync(cancellationToken);
        }

        if (!direct)
        {
            await using var move = new NpgsqlCommand($"INSERT INTO readings ({columns}) SELECT {columns} FROM readings_stage ON CONFLICT DO NOTHING", connection, tx);
            inserted = await move.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        foreach (var (subject, id) in newDers)
        {
            _derIds[subject] = id; // cached only once committed: a rolled-back batch leaves no stale id behind
        }

        return inserted;
    }

    // What readings' foreign key to ders did per row until schema version 2 (issue 31: a quarter of the server's time in
    // ingest), once a batch: the cached DER ids it uses are still there, and stay (KEY SHARE) until it commits.
    private static async Task CheckCachedDerIdsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long[] derIds, Dictionary<string, long> newDers, CancellationToken cancellationToken)
    {
        var cached = derIds.Distinct().Except(newDers.Values).ToArray();
        if (cached.Length == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM (SELECT id FROM ders WHERE id = ANY(@ids) FOR KEY SHARE) AS known", connection, tx);
        command.Parameters.AddWithValue("ids", cached);
        if ((long)(await command.ExecuteScalarAsync(cancellationToken))! != cached.Length)
        {
            throw new StaleDerIdsException();
        }
    }

    private sealed class StaleDerIdsException : Exception;

    public async Task<IReadOnlyList<HistorySeries>> QueryAsync(HistoryQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var ids = await DerIdsAsync(connection, query.Ders, cancellationToken);
        return await HistoryQueries.QueryAsync(connection, ids, query, postgres: true, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredDer>> ListDersAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await HistoryQueries.ListDersAsync(connection, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredReading>> ReadEventsAsync(IReadOnlyList<DerAddress> ders, EventPosition after, EventPosition before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ders);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var ids = await DerIdsAsync(connection, ders, cancellationToken);
        return await HistoryQueries.ReadEventsAsync(connection, postgres: true, ids, ders, after, before, limit, cancellationToken);
    }

    public async Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("DELETE FROM readings WHERE der_id IN (SELECT id FROM ders) AND ts < @ts", connection);
        command.Parameters.AddWithValue("ts", timestamp);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM readings", connection);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        _writeGate.Dispose();
    }

    private async Task<long> DerIdAsync(NpgsqlConnection connection, NpgsqlTransaction tx, DerAddress der, DerType type, Dictionary<string, long> newDers, CancellationToken cancellationToken)
    {
        if (_derIds.TryGetValue(der.Subject, out var id) || newDers.TryGetValue(der.Subject, out id))
        {
            return id;
        }

        await using var command = new NpgsqlCommand(
            "INSERT INTO ders (subject, org, site, device, der, type) VALUES (@s, @o, @si, @d, @de, @t) ON CONFLICT (subject) DO UPDATE SET type = EXCLUDED.type RETURNING id",
            connection,
            tx);
        command.Parameters.AddWithValue("s", der.Subject);
        command.Parameters.AddWithValue("o", der.Org);
        command.Parameters.AddWithValue("si", der.Site);
        command.Parameters.AddWithValue("d", der.Device);
        command.Parameters.AddWithValue("de", der.Der);
        command.Parameters.AddWithValue("t", type.ToWireName());
        id = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        newDers[der.Subject] = id;
        return id;
    }

    private static async Task<Dictionary<string, long>> DerIdsAsync(NpgsqlConnection connection, IReadOnlyList<DerAddress> ders, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var command = new NpgsqlCommand("SELECT subject, id FROM ders WHERE subject = ANY(@s)", connection);
        command.Parameters.AddWithValue("s", ders.Select(d => d.Subject).ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result[reader.GetString(0)] = reader.GetInt64(1);
        }

        return result;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
