using Microsoft.Data.Sqlite;

namespace Wattstream.Storage.Sqlite;

/// <summary>The online copy of a SQLite store that <c>wattstream store backup</c> takes.</summary>
public static class SqliteBackup
{
    /// <summary>
    /// A consistent copy of the database into <paramref name="destination"/> with SQLite's online backup, while the hub
    /// may be writing: what was committed when the copy began. The copy is a single file (journal mode DELETE), checked
    /// with <c>quick_check</c> before it takes its name. Returns its size in bytes.
    /// </summary>
    public static long Copy(string source, string destination)
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
                SqliteConnections.Execute(to, "PRAGMA journal_mode=DELETE;");
            }

            if (SqliteIntegrityCheck.Run(partial, "quick_check") is { Count: > 0 } problems)
            {
                throw new InvalidDataException($"the copy failed its check ({SqliteIntegrityCheck.Summary(problems)}); the source may be damaged: run 'wattstream store check'");
            }

            File.Move(partial, destination);
            return new FileInfo(destination).Length;
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
