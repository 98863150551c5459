using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Wattstream.Storage.Sqlite;

/// <summary>SQLite's own check of a database file's pages, read-only: what <c>wattstream store check</c>, the start check and the backup run.</summary>
public static class SqliteIntegrityCheck
{
    /// <summary>
    /// Runs <c>PRAGMA integrity_check</c> (or <c>quick_check</c>) on the file, read-only; the problems it names, none
    /// when the file is sound. Past <paramref name="timeout"/> the check is interrupted (a SqliteException SQLITE_INTERRUPT).
    /// </summary>
    public static List<string> Run(string path, string pragma = "integrity_check", TimeSpan? timeout = null)
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

    /// <summary>The first problem, and how many more: one line for a message.</summary>
    public static string Summary(IReadOnlyList<string> problems) =>
        problems.Count == 1 ? problems[0] : $"{problems[0]}; and {problems.Count - 1} more";
}
