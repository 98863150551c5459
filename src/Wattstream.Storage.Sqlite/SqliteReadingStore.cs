using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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
/// <remarks>
/// Faults: the first <see cref="MigrateAsync"/> checks the folder, the file and its pages (<c>quick_check</c>, bounded
/// by <c>Storage:StartCheckTimeout</c>) before anything writes, and names what is wrong (<see cref="StoreStartException"/>).
/// Corruption met later marks the store <see cref="Damage">damaged</see>: it writes nothing more into the file. The
/// writer checkpoints the WAL every <c>Storage:CheckpointInterval</c> (TRUNCATE when no query reads, PASSIVE otherwise),
/// and queries are stopped past <c>Storage:QueryTimeout</c>, so no reader of ours pins the WAL for long.
/// </remarks>
public sealed class SqliteReadingStore : IDatabaseStore
{
    private readonly string _connectionString;
    private readonly Lock _writerThreadGate = new();
    private SqliteWriterThread? _writerThread;
    private bool _closed;
    private readonly Dictionary<string, long> _derIds = new(StringComparer.Ordinal);
    private SqliteConnection? _writer;
    private readonly StorageOptions _options;
    private readonly ILogger _logger;
    private bool _migrated;
    private int _readers;
    private long _lastCheckpoint = Environment.TickCount64;
    private string? _damage;
    private long _usedBytes = -1;

    /// <param name="path">The database file; its folder is created by <see cref="MigrateAsync"/>.</param>
    /// <param name="options">The <c>Storage</c> settings (start check, checkpoints, query time); defaults without.</param>
    public SqliteReadingStore(string path, StorageOptions? options = null, ILogger<SqliteReadingStore>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        _options = options ?? new StorageOptions();
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    public string Path { get; }

    public string Kind => "sqlite";

    public string? Damage => Volatile.Read(ref _damage);

    public StoreSize? Size
    {
        get
        {
            var used = Interlocked.Read(ref _usedBytes);
            var file = FileLength(Path);
            return new StoreSize(used >= 0 ? used : file ?? 0, file, FileLength(Path + "-wal"));
        }
    }

    private static long? FileLength(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? info.Length : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public Alerts.IAlertStore CreateAlertStore() => new Alerts.SqlAlertStore(_ => ValueTask.FromResult<System.Data.Common.DbConnection>(Open()), postgres: false);

    public Audit.IAuditStore CreateAuditStore() => new Audit.SqlAuditStore(_ => ValueTask.FromResult<System.Data.Common.DbConnection>(Open()), postgres: false);

    public SqlEventEpochs CreateEventEpochs() => new(_ => ValueTask.FromResult<System.Data.Common.DbConnection>(Open()), postgres: false);

    public Task MigrateAsync(CancellationToken cancellationToken = default) => RunOnWriterAsync(() =>
    {
        if (_migrated)
        {
            return true;
        }

        try
        {
            if (_writer is null)
            {
                CheckFolderAndFile();
                CheckPages();
            }

            Migrate();
        }
        catch (SqliteException e)
        {
            throw StartFailure(e);
        }

        _migrated = true;
        return true;
    });

    private void Migrate()
    {
        var writer = _writer ??= OpenWriter();
        Execute(writer, "PRAGMA journal_mode=WAL;");
        Execute(writer, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
        using var get = writer.CreateCommand();
        get.CommandText = "SELECT MAX(version) FROM schema_version";
        var version = get.ExecuteScalar() is long v ? v : 0;
        if (version > HistorySql.SchemaVersion)
        {
            throw new InvalidOperationException($"The database {Path} has schema version {version}, newer than this Wattstream ({HistorySql.SchemaVersion}).");
        }

        if (version < 1)
        {
            using var tx = writer.BeginTransaction();
            Execute(writer, HistorySql.CreateSchema(postgres: false), tx);
            Execute(writer, "INSERT INTO schema_version (version) VALUES (1);", tx);
            tx.Commit();
        }

        MeasureUsedBytes(writer);
    }

    // Before SQLite touches the file (it would create it, or its -wal and -shm): a clear line for each way the folder or
    // the file can be unusable. Only while this store has no connection open: closing a descriptor of the file drops the
    // process's POSIX locks on it, SQLite's included.
    private void CheckFolderAndFile()
    {
        var folder = System.IO.Path.GetDirectoryName(Path)!;
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var reason = BlockingFile(folder) is { } file ? $"{file} is a file, not a folder." : e.Message;
            throw new StoreStartException($"cannot create the data folder {folder} (Storage:DataDirectory): {reason} Create it with write access for the hub's user, or point Storage:DataDirectory at another folder.", inner: e);
        }

        try
        {
            // SQLite creates wattstream.db-wal and -shm beside the database: the folder must take new files.
            using (File.Create(System.IO.Path.Combine(folder, $".wattstream-write-check-{Environment.ProcessId}"), 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw IsDiskFull(e)
                ? DiskFull(e)
                : new StoreStartException($"the data folder {folder} is not writable (Storage:DataDirectory): {e.Message} The database and its -wal and -shm files live there: give the hub's user write access, or point Storage:DataDirectory at another folder.", inner: e);
        }

        if (!File.Exists(Path))
        {
            return;
        }

        Span<byte> header = stackalloc byte[18];
        int read;
        long length;
        try
        {
            using var file = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            read = RandomAccess.Read(file, header, 0);
            length = RandomAccess.GetLength(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreStartException($"the database {Path} is read-only ({e.Message}): the hub does not start on a store it cannot write. Give the hub's user write access to it (chmod, chown, chattr -i), or restore a writable copy.", inner: e);
        }

        // The header names the format and the page size; the file holds whole pages (a shorter one was cut off).
        var pageSize = read == header.Length ? (header[16] << 8) | header[17] : 0;
        pageSize = pageSize == 1 ? 65536 : pageSize; // 1 stands for 64 KiB
        if (read > 0 && (pageSize < 512 || !header[..16].SequenceEqual("SQLite format 3\0"u8) || length % pageSize != 0))
        {
            throw NotADatabase();
        }
    }

    // The nearest existing ancestor of a folder, when it is a file ("Could not find a part of the path" says nothing).
    private static string? BlockingFile(string folder)
    {
        for (var path = folder; !string.IsNullOrEmpty(path); path = System.IO.Path.GetDirectoryName(path))
        {
            if (File.Exists(path))
            {
                return path;
            }

            if (Directory.Exists(path))
            {
                return null;
            }
        }

        return null;
    }

    private StoreStartException NotADatabase(Exception? inner = null) =>
        new($"{Path} is not a SQLite database (truncated or overwritten?). Restore it from a backup, or move it aside (with any -wal and -shm beside it) to start with an empty store.", inner: inner);

    private StoreStartException DiskFull(Exception inner) =>
        new($"the disk holding {System.IO.Path.GetDirectoryName(Path)} is full, or a file-size limit stops {Path} from growing (Storage:DataDirectory): {inner.Message}. Free space (or raise the limit), or point Storage:DataDirectory at a larger disk.", inner: inner);

    private static bool IsDiskFull(Exception e) => e is SqliteException { SqliteErrorCode: raw.SQLITE_FULL }
        || (e is IOException io && (io.HResult & 0xFFFF) is 28 or 27); // ENOSPC, EFBIG

    // PRAGMA quick_check, on a read-only connection of its own, interrupted past Storage:StartCheckTimeout: a store found
    // damaged stops the start before the writer opens the file, so nothing is written into it.
    private void CheckPages()
    {
        if (_options.StartCheckTimeout <= TimeSpan.Zero || FileLength(Path) is null or 0)
        {
            return;
        }

        List<string> problems;
        try
        {
            problems = RunCheck(Path, "quick_check", _options.StartCheckTimeout);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == raw.SQLITE_INTERRUPT)
        {
            _logger.LogWarning("The start-up check of {Path} was cut short after {Timeout} (Storage:StartCheckTimeout): the part it read is sound; 'wattstream store check' checks the whole file", Path, _options.StartCheckTimeout);
            return;
        }

        if (problems.Count > 0)
        {
            Volatile.Write(ref _damage, problems[0]);
            throw new StoreStartException($"{Path} is damaged ({Summary(problems)}). The hub does not write into a damaged store: restore it from a backup, or move it aside (with its -wal and -shm) to start with an empty one; 'wattstream store check' lists the damage.");
        }
    }

    private static string Summary(List<string> problems) =>
        problems.Count == 1 ? problems[0] : $"{problems[0]}; and {problems.Count - 1} more";

    /// <summary>
    /// Runs <c>PRAGMA integrity_check</c> (or <c>quick_check</c>) on the file, read-only; the problems it names, none
    /// when the file is sound. Past <paramref name="timeout"/> the check is interrupted (a SqliteException SQLITE_INTERRUPT).
    /// </summary>
    public static List<string> RunCheck(string path, string pragma = "integrity_check", TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = pragma is "quick_check" ? "PRAGMA quick_check" : "PRAGMA integrity_check";
        if (timeout is { } t)
        {
            // Checked by SQLite itself every 1 000 steps on this thread: a timer on a busy thread pool could fire too late.
            var started = System.Diagnostics.Stopwatch.StartNew();
            raw.sqlite3_progress_handler(connection.Handle, 1_000, _ => started.Elapsed > t ? 1 : 0, null);
        }

        var problems = new List<string>();
        try
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                // A row may hold several lines ("*** in database main ***" and what was found there): one problem per line.
                problems.AddRange(reader.GetString(0).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Where(line => line != "ok" && !line.StartsWith("***", StringComparison.Ordinal)));
            }
        }
        catch (SqliteException e) when (e.SqliteErrorCode is raw.SQLITE_CORRUPT or raw.SQLITE_NOTADB)
        {
            problems.Add(e.Message);
        }

        return problems;
    }

    /// <summary>
    /// A consistent copy of the database into <paramref name="destination"/> with SQLite's online backup, while the hub
    /// may be writing: what was committed when the copy began. The copy is a single file (journal mode DELETE), checked
    /// with <c>quick_check</c> before it takes its name. Returns its size in bytes.
    /// </summary>
    public static long Backup(string source, string destination)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        var partial = destination + ".partial";
        File.Delete(partial);
        try
        {
            using (var from = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
            using (var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = partial, Pooling = false }.ToString()))
            {
                from.Open();
                to.Open();
                from.BackupDatabase(to); // one step: one read transaction, so one consistent snapshot
                Execute(to, "PRAGMA journal_mode=DELETE;");
            }

            if (RunCheck(partial, "quick_check") is { Count: > 0 } problems)
            {
                throw new InvalidDataException($"the copy failed its check ({Summary(problems)}); the source may be damaged: run 'wattstream store check'");
            }

            File.Move(partial, destination);
            return new FileInfo(destination).Length;
        }
        finally
        {
            File.Delete(partial);
        }
    }

    private StoreStartException StartFailure(SqliteException e) => e.SqliteErrorCode switch
    {
        raw.SQLITE_NOTADB => NotADatabase(e),
        raw.SQLITE_CORRUPT => new StoreStartException($"{Path} is damaged ({e.Message}). The hub does not write into a damaged store: restore it from a backup, or move it aside (with its -wal and -shm) to start with an empty one.", inner: e),
        raw.SQLITE_FULL or raw.SQLITE_IOERR => DiskFull(e), // EFBIG past a file-size limit is an I/O error on write
        raw.SQLITE_READONLY => new StoreStartException($"the database {Path} is read-only ({e.Message}): give the hub's user write access to it and its folder (Storage:DataDirectory).", inner: e),
        raw.SQLITE_BUSY or raw.SQLITE_LOCKED => new StoreStartException($"{Path} is locked by another process ({e.Message}); is another hub using Storage:DataDirectory?", transient: true, inner: e),
        raw.SQLITE_CANTOPEN => new StoreStartException($"cannot open {Path} (Storage:DataDirectory): {e.Message}. Check that the folder and the file exist and are writable by the hub's user.", inner: e),
        _ => new StoreStartException($"cannot open {Path} (Storage:DataDirectory): {e.Message}", inner: e),
    };

    public Task<int> WriteAsync(IReadOnlyList<StoredReading> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return RunOnWriterAsync(() => Writing(() =>
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

                CheckpointWhenDue(connection);
                return inserted;
            }
        }));
    }

    // Every write goes through here, on the writer thread: nothing is written into a file found damaged, and a failed
    // write says what it means to an operator (the writer logs the message and retries).
    private T Writing<T>(Func<T> write)
    {
        if (Volatile.Read(ref _damage) is { } damage)
        {
            throw new StoreDamagedException($"{Path} is damaged ({damage}); nothing more is written into it. Restore it from a backup, or move it aside and restart.");
        }

        try
        {
            return write();
        }
        catch (SqliteException e)
        {
            // The connection may be left in a state SQLite gives up on (an I/O error); the next write opens a fresh one.
            _writer?.Dispose();
            _writer = null;
            if (IsCorruption(e))
            {
                throw Damaged(e);
            }

            if (e.SqliteErrorCode is raw.SQLITE_FULL or raw.SQLITE_IOERR)
            {
                // ENOSPC is SQLITE_FULL; EFBIG (past a file-size limit, SIGXFSZ ignored) is an I/O error on write.
                throw new IOException($"writing to {Path} failed ({e.Message}): the disk is full or the file reached a size limit (ulimit -f); the readings wait in the queue and are written once there is room", e);
            }

            if (e.SqliteErrorCode is raw.SQLITE_READONLY)
            {
                throw new IOException($"{Path} became read-only ({e.Message}): give the hub's user write access to it and its folder", e);
            }

            throw;
        }
    }

    private static bool IsCorruption(SqliteException e) => e.SqliteErrorCode is raw.SQLITE_CORRUPT or raw.SQLITE_NOTADB;

    private StoreDamagedException Damaged(SqliteException e)
    {
        if (Interlocked.CompareExchange(ref _damage, e.Message, null) is null)
        {
            _logger.LogError("{Path} is damaged ({Error}): nothing more is written into it, /readyz says so. Stop the hub, then restore the file from a backup or move it aside ('wattstream store check' lists the damage)", Path, e.Message);
        }

        return new StoreDamagedException($"The history store {Path} is damaged ({e.Message}). Restore it from a backup, or move it aside and restart; 'wattstream store check' lists the damage.", e);
    }

    // The WAL grows until a checkpoint copies it into the database; SQLite's automatic one (PASSIVE, every 1 000 pages)
    // never shrinks the file, and a reader holding an old snapshot stops it from restarting the log. So every
    // CheckpointInterval the writer checkpoints itself: TRUNCATE (the file back to zero) when no query of ours reads,
    // PASSIVE otherwise; with no wait either way (a reader of another process makes it PASSIVE too), so writes never stall.
    private void CheckpointWhenDue(SqliteConnection connection)
    {
        var now = Environment.TickCount64;
        if (now - _lastCheckpoint < (long)_options.CheckpointInterval.TotalMilliseconds)
        {
            return;
        }

        _lastCheckpoint = now;
        var db = connection.Handle!;
        var mode = Volatile.Read(ref _readers) == 0 ? raw.SQLITE_CHECKPOINT_TRUNCATE : raw.SQLITE_CHECKPOINT_PASSIVE;
        raw.sqlite3_busy_timeout(db, 0);
        try
        {
            var result = raw.sqlite3_wal_checkpoint_v2(db, "main", mode, out _, out _);
            if (result is not (raw.SQLITE_OK or raw.SQLITE_BUSY))
            {
                Check(db, result);
            }
        }
        finally
        {
            raw.sqlite3_busy_timeout(db, BusyTimeoutMs);
        }

        MeasureUsedBytes(connection);
    }

    private void MeasureUsedBytes(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()";
        Interlocked.Exchange(ref _usedBytes, (long)command.ExecuteScalar()!);
    }

    /// <summary>Measures now, on the writer: the pages in use (deleted rows free pages that later writes reuse), the file and its WAL.</summary>
    public Task<StoreSize?> MeasureAsync(CancellationToken cancellationToken = default) => RunOnWriterAsync(() => Writing<StoreSize?>(() =>
    {
        MeasureUsedBytes(_writer ??= OpenWriter());
        return Size;
    }));

    public Task<StoredTimeRange?> TimeRangeAsync(CancellationToken cancellationToken = default) =>
        ReadAsync((connection, ct) => HistoryQueries.TimeRangeAsync(connection, ct), cancellationToken);

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
        return await ReadAsync(async (connection, ct) =>
        {
            var ids = await DerIdsAsync(connection, query.Ders, ct);
            return await HistoryQueries.QueryAsync(connection, ids, query, postgres: false, ct);
        }, cancellationToken, bounded: true);
    }

    public Task<IReadOnlyList<StoredDer>> ListDersAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(HistoryQueries.ListDersAsync, cancellationToken);

    public async Task<IReadOnlyList<StoredReading>> ReadEventsAsync(IReadOnlyList<DerAddress> ders, EventPosition after, EventPosition before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ders);
        return await ReadAsync(async (connection, ct) =>
        {
            var ids = await DerIdsAsync(connection, ders, ct);
            return await HistoryQueries.ReadEventsAsync(connection, postgres: false, ids, ders, after, before, limit, ct);
        }, cancellationToken, bounded: true);
    }

    // A read on a pooled connection of its own: counted (the checkpoint leaves the WAL alone while one runs), for history
    // queries stopped past Storage:QueryTimeout (sqlite3_interrupt ends a statement mid-step; a read transaction pins the
    // WAL for as long as it lasts), and corruption it meets marks the store damaged. The hub's own reads (the DER list at
    // start, the time range for Storage:MaxBytes) are index probes and not bounded.
    private async Task<T> ReadAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> read, CancellationToken cancellationToken, bool bounded = false)
    {
        Interlocked.Increment(ref _readers);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (bounded)
        {
            timeout.CancelAfter(_options.QueryTimeout);
        }

        try
        {
            await using var connection = Open();
            await using var interrupt = timeout.Token.Register(() => raw.sqlite3_interrupt(connection.Handle));
            return await read(connection, timeout.Token);
        }
        catch (SqliteException e) when (IsCorruption(e))
        {
            throw Damaged(e);
        }
        catch (Exception e) when (e is SqliteException { SqliteErrorCode: raw.SQLITE_INTERRUPT } or OperationCanceledException && timeout.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested(); // the caller gave up: not a timeout
            throw new StoreQueryTimeoutException($"The read ran past Storage:QueryTimeout ({_options.QueryTimeout.TotalSeconds:0.###} s) and was stopped: ask for a shorter range or a coarser step.", e);
        }
        finally
        {
            Interlocked.Decrement(ref _readers);
        }
    }

    public Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default) => RunOnWriterAsync(() => Writing(() =>
    {
        var connection = _writer ??= OpenWriter();
        using var command = connection.CreateCommand();
        // Per DER, so the (der_id, ts) key finds the rows: ts alone has no index (it would slow every insert).
        command.CommandText = "DELETE FROM readings WHERE der_id IN (SELECT id FROM ders) AND ts < @ts";
        command.Parameters.AddWithValue("@ts", timestamp);
        return (long)command.ExecuteNonQuery();
    }));

    public Task<long> CountAsync(CancellationToken cancellationToken = default) => ReadAsync(async (connection, ct) =>
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM readings";
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }, cancellationToken);

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
        Execute(connection, $"PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={BusyTimeoutMs}; PRAGMA foreign_keys=ON; PRAGMA mmap_size=1073741824;");
        return connection;
    }

    private const int BusyTimeoutMs = 5000;

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
