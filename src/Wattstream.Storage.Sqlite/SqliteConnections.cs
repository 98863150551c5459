using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// Opens the store's connections, all with the same pragmas, and runs a statement on one: the shared plumbing of the
/// writer, the reads, the start check and the backup.
/// </summary>
internal sealed class SqliteConnections(string path)
{
    /// <summary>How long a statement waits for a lock another connection holds.</summary>
    public const int BusyTimeoutMs = 5000;

    private readonly string _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();

    /// <summary>A pooled connection to the file (reads, and the stores that share the file).</summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, $"PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={BusyTimeoutMs}; PRAGMA foreign_keys=ON; PRAGMA mmap_size=1073741824;");
        return connection;
    }

    // The writer keeps 64 MB of pages (the default is 2 MB): the (DER, time) index of a few million readings stays in
    // memory, and ingest went from about 29 to 20 µs per reading (docs/benchmarks.md). Readers map the file instead.
    public SqliteConnection OpenWriter()
    {
        var connection = Open();
        Execute(connection, "PRAGMA cache_size=-65536;");
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Throws SQLite's error for a result of a raw SQLitePCL call that is not a success.</summary>
    public static void Check(sqlite3 db, int result)
    {
        if (result is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
        {
            throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), result, raw.sqlite3_extended_errcode(db));
        }
    }

    /// <summary>The length of a file, null when there is none (or it cannot be read).</summary>
    public static long? FileLength(string path)
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
}
