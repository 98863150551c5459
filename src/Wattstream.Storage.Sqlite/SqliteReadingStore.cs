using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SQLitePCL;
using Wattstream.Telemetry;
using Alerts = Wattstream.Storage.Alerts;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// Readings in one SQLite file, WAL mode. One connection writes (batches in one transaction with a prepared
/// statement); queries use their own pooled connections, which WAL lets read while the writer writes. With
/// <c>synchronous=NORMAL</c> a killed process loses no committed batch and the file always opens clean.
/// </summary>
/// <remarks>
/// <para>
/// Faults: the first <see cref="MigrateAsync"/> checks the folder, the file and its pages (<c>quick_check</c>, bounded
/// by <c>Storage:StartCheckTimeout</c>) before anything writes, and names what is wrong (<see cref="StoreStartException"/>).
/// Corruption met later marks the store <see cref="Damage">damaged</see>: it writes nothing more into the file. The
/// writer checkpoints the WAL every <c>Storage:CheckpointInterval</c> (TRUNCATE when no query reads, PASSIVE otherwise),
/// and queries are stopped past <c>Storage:QueryTimeout</c>, so no reader of ours pins the WAL for long.
/// </para>
/// <para>
/// This type composes the parts: <see cref="SqliteStartCheck"/>, <see cref="SqliteReadingWriter"/> (on the writer thread,
/// <see cref="SqliteWriterThread"/>), <see cref="SqliteReadingQueries"/>, <see cref="SqliteCheckpointer"/>,
/// <see cref="SqliteStoreSize"/> and <see cref="SqliteDamage"/>; <see cref="SqliteBackup"/> and
/// <see cref="SqliteIntegrityCheck"/> work on a file by path.
/// </para>
/// </remarks>
public sealed class SqliteReadingStore : IDatabaseStore
{
    private readonly Lock _writerThreadGate = new();
    private SqliteWriterThread? _writerThread;
    private bool _closed;
    private SqliteConnection? _writer;
    private bool _migrated;
    private readonly StorageOptions _options;
    private readonly ILogger _logger;
    private readonly SqliteConnections _connections;
    private readonly SqliteDamage _damage;
    private readonly SqliteStoreSize _size;
    private readonly SqliteCheckpointer _checkpointer;
    private readonly SqliteReadingWriter _readings = new();
    private readonly SqliteReadingQueries _queries;

    /// <param name="path">The database file; its folder is created by <see cref="MigrateAsync"/>.</param>
    /// <param name="options">The <c>Storage</c> settings (start check, checkpoints, query time); defaults without.</param>
    public SqliteReadingStore(string path, StorageOptions? options = null, ILogger<SqliteReadingStore>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        _options = options ?? new StorageOptions();
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _connections = new SqliteConnections(Path);
        _damage = new SqliteDamage(Path, _logger);
        _size = new SqliteStoreSize(Path);
        _checkpointer = new SqliteCheckpointer(_options.CheckpointInterval);
        _queries = new SqliteReadingQueries(_connections, _checkpointer, _damage, _options.QueryTimeout);
    }

    public string Path { get; }

    public string Kind => "sqlite";

    public string? Damage => _damage.Current;

    public StoreSize? Size => _size.Current;

    public Alerts.IAlertStore CreateAlertStore() => new Alerts.SqlAlertStore(OpenShared, postgres: false);

    public Audit.IAuditStore CreateAuditStore() => new Audit.SqlAuditStore(OpenShared, postgres: false);

    public SqlEventEpochs CreateEventEpochs() => new(OpenShared, postgres: false);

    // The alert, audit and epoch tables live in the same file, on pooled connections like the queries'.
    private ValueTask<System.Data.Common.DbConnection> OpenShared(CancellationToken cancellationToken) =>
        ValueTask.FromResult<System.Data.Common.DbConnection>(_connections.Open());

    /// <summary>
    /// Runs <c>PRAGMA integrity_check</c> (or <c>quick_check</c>) on a file, read-only (<see cref="SqliteIntegrityCheck.Run"/>).
    /// </summary>
    public static List<string> RunCheck(string path, string pragma = "integrity_check", TimeSpan? timeout = null) =>
        SqliteIntegrityCheck.Run(path, pragma, timeout);

    /// <summary>A consistent online copy of a database file (<see cref="SqliteBackup.Copy"/>); its size in bytes.</summary>
    public static long Backup(string source, string destination) => SqliteBackup.Copy(source, destination);

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
                SqliteStartCheck.CheckFolderAndFile(Path);
                SqliteStartCheck.CheckPages(Path, _options.StartCheckTimeout, _logger, _damage);
            }

            var writer = _writer ??= _connections.OpenWriter();
            SqliteSchema.Migrate(writer, Path);
            _size.MeasureUsedBytes(writer);
        }
        catch (SqliteException e)
        {
            throw SqliteStartCheck.Failure(Path, e);
        }

        _migrated = true;
        return true;
    });

    public Task<int> WriteAsync(IReadOnlyList<StoredReading> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return RunOnWriterAsync(() => Writing(() =>
        {
            var connection = _writer ??= _connections.OpenWriter();
            var inserted = _readings.Write(connection, batch);
            if (_checkpointer.CheckpointWhenDue(connection))
            {
                _size.MeasureUsedBytes(connection);
            }

            return inserted;
        }));
    }

    public Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default) =>
        RunOnWriterAsync(() => Writing(() => SqliteReadingWriter.DeleteOlderThan(_writer ??= _connections.OpenWriter(), timestamp)));

    /// <summary>Measures now, on the writer: the pages in use (deleted rows free pages that later writes reuse), the file and its WAL.</summary>
    public Task<StoreSize?> MeasureAsync(CancellationToken cancellationToken = default) => RunOnWriterAsync(() => Writing<StoreSize?>(() =>
    {
        _size.MeasureUsedBytes(_writer ??= _connections.OpenWriter());
        return Size;
    }));

    public Task<StoredTimeRange?> TimeRangeAsync(CancellationToken cancellationToken = default) => _queries.TimeRangeAsync(cancellationToken);

    public async Task<IReadOnlyList<HistorySeries>> QueryAsync(HistoryQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return await _queries.QueryAsync(query, cancellationToken);
    }

    public Task<IReadOnlyList<StoredDer>> ListDersAsync(CancellationToken cancellationToken = default) => _queries.ListDersAsync(cancellationToken);

    public async Task<IReadOnlyList<StoredReading>> ReadEventsAsync(IReadOnlyList<DerAddress> ders, EventPosition after, EventPosition before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ders);
        return await _queries.ReadEventsAsync(ders, after, before, limit, cancellationToken);
    }

    public Task<long> CountAsync(CancellationToken cancellationToken = default) => _queries.CountAsync(cancellationToken);

    /// <summary>PRAGMA integrity_check: "ok" for a sound file.</summary>
    public string IntegrityCheck()
    {
        using var connection = _connections.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return (string)command.ExecuteScalar()!;
    }

    // Every write goes through here, on the writer thread: nothing is written into a file found damaged, and a failed
    // write says what it means to an operator (the writer logs the message and retries).
    private T Writing<T>(Func<T> write)
    {
        _damage.ThrowIfDamaged();
        try
        {
            return write();
        }
        catch (SqliteException e)
        {
            // The connection may be left in a state SQLite gives up on (an I/O error); the next write opens a fresh one.
            _writer?.Dispose();
            _writer = null;
            if (SqliteDamage.IsCorruption(e))
            {
                throw _damage.Found(e);
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
}
