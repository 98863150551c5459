using Microsoft.Data.Sqlite;
using SQLitePCL;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;
using Alerts = Wattstream.Storage.Alerts;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// Readings in one SQLite file, WAL mode. One connection writes (batches in one transaction with a prepared
/// statement); queries use their own pooled connections, which WAL lets read while the writer writes. With
/// <c>synchronous=NORMAL</c> a killed process loses no committed batch and the file always opens clean.
/// </summary>
public sealed class SqliteReadingStore : IReadingStore
{
    private readonly string _connectionString;
    private readonly Lock _writerThreadGate = new();
    private SqliteWriterThread? _writerThread;
    private bool _closed;
    private readonly Dictionary<string, long> _derIds = new(StringComparer.Ordinal);
    private SqliteConnection? _writer;

    public SqliteReadingStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        Path = path;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    public string Path { get; }

    public string Kind => "sqlite";

    /// <summary>Alert rules and alerts in the same file.</summary>
    public Alerts.IAlertStore CreateAlertStore() => new Alerts.SqlAlertStore(_ => ValueTask.FromResult<System.Data.Common.DbConnection>(Open()), postgres: false);

    public Audit.IAuditStore CreateAuditStore() => new Audit.SqlAuditStore(_ => ValueTask.FromResult<System.Data.Common.DbConnection>(Open()), postgres: false);

    public Task MigrateAsync(CancellationToken cancellationToken = default) => RunOnWriterAsync(() =>
    {
        _writer ??= OpenWriter();
        Execute(_writer, "PRAGMA journal_mode=WAL;");
        Execute(_writer, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
        using var get = _writer.CreateCommand();
        get.CommandText = "SELECT MAX(version) FROM schema_version";
        var version = get.ExecuteScalar() is long v ? v : 0;
        if (version > HistorySql.SchemaVersion)
        {
            throw new InvalidOperationException($"The database {Path} has schema version {version}, newer than this Wattstream ({HistorySql.SchemaVersion}).");
        }

        if (version < 1)
        {
            using var tx = _writer.BeginTransaction();
            Execute(_writer, HistorySql.CreateSchema(postgres: false), tx);
            Execute(_writer, "INSERT INTO schema_version (version) VALUES (1);", tx);
            tx.Commit();
        }

        return true;
    });

    public Task<int> WriteAsync(IReadOnlyList<StoredReading> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return RunOnWriterAsync(() =>
        {
            var connection = _writer ??= OpenWriter();
            using var tx = connection.BeginTransaction();

            // The insert binds through SQLitePCL (the library under Microsoft.Data.Sqlite) by position: Microsoft.Data.Sqlite
            // looks every parameter up by name and boxes every value on every execution, which was half of the time per
            // reading (docs/benchmarks.md, issue 19). Same statement, same transaction, same connection.
            var db = connection.Handle!;
            Check(db, raw.sqlite3_prepare_v2(db, InsertSql, out var insert));
            using (insert)
            {
                var inserted = 0;
                var newDers = new Dictionary<string, long>(StringComparer.Ordinal);
                var fields = HistoryFields.All;
                foreach (var item in batch)
                {
                    var r = item.Reading;
                    raw.sqlite3_bind_int64(insert, 1, DerId(connection, tx, r.Der, r.Type, newDers));
                    raw.sqlite3_bind_int64(insert, 2, r.Timestamp);
                    raw.sqlite3_bind_int64(insert, 3, item.Event.Epoch);
                    raw.sqlite3_bind_int64(insert, 4, item.Event.Sequence);
                    for (var i = 0; i < fields.Count; i++)
                    {
                        _ = fields[i].ValueOf(r) is { } value ? raw.sqlite3_bind_double(insert, 5 + i, value) : raw.sqlite3_bind_null(insert, 5 + i);
                    }

                    raw.sqlite3_bind_blob(insert, 5 + fields.Count, ReadingJson.ToUtf8Span(r));
                    var step = raw.sqlite3_step(insert);
                    if (step != raw.SQLITE_DONE)
                    {
                        Check(db, step);
                    }

                    inserted += raw.sqlite3_changes(db);
                    raw.sqlite3_reset(insert);
                }

                tx.Commit();
                foreach (var (subject, id) in newDers)
                {
                    _derIds[subject] = id; // cached only once committed: a rolled-back batch leaves no stale id behind
                }

                return inserted;
            }
        });
    }

    private static readonly string InsertSql =
        $"INSERT INTO readings (der_id, ts, epoch, seq, {HistorySql.FieldColumns}, payload) VALUES ({string.Join(", ", Enumerable.Range(1, 5 + HistoryFields.All.Count).Select(i => "?" + i))}) ON CONFLICT DO NOTHING";

    private static void Check(sqlite3 db, int result)
    {
        if (result is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
        {
            throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), result, raw.sqlite3_extended_errcode(db));
        }
    }

    public async Task<IReadOnlyList<HistorySeries>> QueryAsync(HistoryQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = Open();
        var ids = await DerIdsAsync(connection, query.Ders, cancellationToken);
        return await HistoryQueries.QueryAsync(connection, ids, query, postgres: false, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredDer>> ListDersAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = Open();
        return await HistoryQueries.ListDersAsync(connection, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredReading>> ReadEventsAsync(IReadOnlyList<DerAddress> ders, EventPosition after, EventPosition before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ders);
        await using var connection = Open();
        var ids = await DerIdsAsync(connection, ders, cancellationToken);
        return await HistoryQueries.ReadEventsAsync(connection, postgres: false, ids, ders, after, before, limit, cancellationToken);
    }

    public Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default) => RunOnWriterAsync(() =>
    {
        var connection = _writer ??= OpenWriter();
        using var command = connection.CreateCommand();
        // Per DER, so the (der_id, ts) key finds the rows: ts alone has no index (it would slow every insert).
        command.CommandText = "DELETE FROM readings WHERE der_id IN (SELECT id FROM ders) AND ts < @ts";
        command.Parameters.AddWithValue("@ts", timestamp);
        return (long)command.ExecuteNonQuery();
    });

    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM readings";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>PRAGMA integrity_check: "ok" for a sound file.</summary>
    public string IntegrityCheck()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return (string)command.ExecuteScalar()!;
    }

    public async ValueTask DisposeAsync()
    {
        SqliteWriterThread? thread;
        lock (_writerThreadGate)
        {
            thread = _writerThread;
            _writerThread = null;
            _closed = true;
        }

        if (thread is not null)
        {
            // The connection is the writer thread's: closed there, after whatever was queued before it.
            await thread.RunAsync(() =>
            {
                _writer?.Dispose();
                _writer = null;
                return true;
            });
            thread.Dispose();
        }

        SqliteConnection.ClearAllPools();
    }

    // The writer thread starts with the first write, so a store that is only read has none.
    private Task<T> RunOnWriterAsync<T>(Func<T> work)
    {
        SqliteWriterThread thread;
        lock (_writerThreadGate)
        {
            if (_closed)
            {
                return Task.FromException<T>(new ObjectDisposedException(nameof(SqliteReadingStore)));
            }

            thread = _writerThread ??= new SqliteWriterThread($"SQLite writer ({System.IO.Path.GetFileName(Path)})");
        }

        return thread.RunAsync(work);
    }

    // The writer keeps 64 MB of pages (the default is 2 MB): the (DER, time) index of a few million readings stays in
    // memory, and ingest went from about 29 to 20 µs per reading (docs/benchmarks.md). Readers map the file instead.
    private SqliteConnection OpenWriter()
    {
        var connection = Open();
        Execute(connection, "PRAGMA cache_size=-65536;");
        return connection;
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; PRAGMA mmap_size=1073741824;");
        return connection;
    }

    private long DerId(SqliteConnection connection, SqliteTransaction tx, DerAddress der, DerType type, Dictionary<string, long> newDers)
    {
        if (_derIds.TryGetValue(der.Subject, out var id) || newDers.TryGetValue(der.Subject, out id))
        {
            return id;
        }

        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "INSERT INTO ders (subject, org, site, device, der, type) VALUES (@s, @o, @si, @d, @de, @t) ON CONFLICT (subject) DO NOTHING; SELECT id FROM ders WHERE subject = @s;";
        command.Parameters.AddWithValue("@s", der.Subject);
        command.Parameters.AddWithValue("@o", der.Org);
        command.Parameters.AddWithValue("@si", der.Site);
        command.Parameters.AddWithValue("@d", der.Device);
        command.Parameters.AddWithValue("@de", der.Der);
        command.Parameters.AddWithValue("@t", type.ToWireName());
        id = (long)command.ExecuteScalar()!;
        newDers[der.Subject] = id;
        return id;
    }

    private static async Task<Dictionary<string, long>> DerIdsAsync(SqliteConnection connection, IReadOnlyList<DerAddress> ders, CancellationToken cancellationToken)
    {
        // One statement with the subjects as one JSON array parameter, however many DERs.
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT subject, id FROM ders WHERE subject IN (SELECT value FROM json_each(@s))";
        command.Parameters.AddWithValue("@s", System.Text.Json.JsonSerializer.Serialize(ders.Select(d => d.Subject).ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result[reader.GetString(0)] = reader.GetInt64(1);
        }

        return result;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
