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

        if (version < HistorySql.SchemaVersion)
        {
            using var tx = writer.BeginTransaction();
            if (version < 1)
            {
                SqliteConnections.Execute(writer, HistorySql.CreateSchema(postgres: false), tx);
            }

            // 1 → 2: new rows hold a smaller payload (StoredPayload); the tables are the same and old rows stay as
            // they are, so the step is the version alone: a Wattstream older than this then refuses the file.
            SqliteConnections.Execute(writer, $"DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({HistorySql.SchemaVersion});", tx);
            tx.Commit();
        }
    }
}
