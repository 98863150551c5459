using System.Data.Common;

namespace Wattstream.Storage;

/// <summary>
/// A schema migration of the stores that share their statements between SQLite and PostgreSQL (alerts, audit): one
/// transaction, and on PostgreSQL an advisory lock of the feature's own, so several hubs on one database migrate one at a time.
/// </summary>
internal static class SqlMigration
{
    public static string IdColumn(bool postgres) => postgres ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";

    public static string Int64(bool postgres) => postgres ? "BIGINT" : "INTEGER";

    public static async Task RunAsync(Func<CancellationToken, ValueTask<DbConnection>> open, bool postgres, long lockKey, string ddl, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = (postgres ? $"SELECT pg_advisory_xact_lock({lockKey});\n" : "") + ddl;
        await command.ExecuteNonQueryAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }
}
