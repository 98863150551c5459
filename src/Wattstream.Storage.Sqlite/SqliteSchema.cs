using Microsoft.Data.Sqlite;

namespace Wattstream.Storage.Sqlite;

/// <summary>The store's tables: WAL mode, and the schema created or checked against <see cref="HistorySql.SchemaVersion"/>.</summary>
internal static class SqliteSchema
{
    public static void Migrate(SqliteConnection writer, string path)
    {
        SqliteConnections.Execute(writer, "PRAGMA journal_mode=WAL;");
        SqliteConnections.Execute(writer, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
        using var get = writer.CreateCommand();
        get.CommandText = "SELECT MAX(version) FROM schema_version";
        var version = get.ExecuteScalar() is long v ? v : 0;
        if (version > HistorySql.SchemaVersion)
        {
            throw new InvalidOperationException($"The database {path} has schema version {version}, newer than this Wattstream ({HistorySql.SchemaVersion}).");
        }

        if (version < 1)
        {
            using var tx = writer.BeginTransaction();
            SqliteConnections.Execute(writer, HistorySql.CreateSchema(postgres: false), tx);
            SqliteConnections.Execute(writer, "INSERT INTO schema_version (version) VALUES (1);", tx);
            tx.Commit();
        }
    }
}
