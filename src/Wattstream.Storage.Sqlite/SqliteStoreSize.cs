using Microsoft.Data.Sqlite;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// How much room the store takes: the pages in use (measured on the writer at start, after each checkpoint and on
/// request; deleted rows free pages that later writes reuse), the file and its WAL (read from disk when asked).
/// </summary>
internal sealed class SqliteStoreSize(string path)
{
    private long _usedBytes = -1;

    public StoreSize Current
    {
        get
        {
            var used = Interlocked.Read(ref _usedBytes);
            var file = SqliteConnections.FileLength(path);
            return new StoreSize(used >= 0 ? used : file ?? 0, file, SqliteConnections.FileLength(path + "-wal"));
        }
    }

    public void MeasureUsedBytes(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()";
        Interlocked.Exchange(ref _usedBytes, (long)command.ExecuteScalar()!);
    }
}
