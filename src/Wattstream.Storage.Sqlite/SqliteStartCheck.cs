using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// The checks before the store first writes: the folder, the file and its pages. Each way they can be unusable is one
/// <see cref="StoreStartException"/> line for the operator naming the file, the setting and what to do.
/// </summary>
internal static class SqliteStartCheck
{
    // Before SQLite touches the file (it would create it, or its -wal and -shm): a clear line for each way the folder or
    // the file can be unusable. Only while the store has no connection open: closing a descriptor of the file drops the
    // process's POSIX locks on it, SQLite's included.
    public static void CheckFolderAndFile(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
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
            using (File.Create(Path.Combine(folder, $".wattstream-write-check-{Environment.ProcessId}"), 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw IsDiskFull(e)
                ? DiskFull(path, e)
                : new StoreStartException($"the data folder {folder} is not writable (Storage:DataDirectory): {e.Message} The database and its -wal and -shm files live there: give the hub's user write access, or point Storage:DataDirectory at another folder.", inner: e);
        }

        if (!File.Exists(path))
        {
            return;
        }

        Span<byte> header = stackalloc byte[18];
        int read;
        long length;
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            read = RandomAccess.Read(file, header, 0);
            length = RandomAccess.GetLength(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreStartException($"the database {path} is read-only ({e.Message}): the hub does not start on a store it cannot write. Give the hub's user write access to it (chmod, chown, chattr -i), or restore a writable copy.", inner: e);
        }

        // The header names the format and the page size; the file holds whole pages (a shorter one was cut off).
        var pageSize = read == header.Length ? (header[16] << 8) | header[17] : 0;
        pageSize = pageSize == 1 ? 65536 : pageSize; // 1 stands for 64 KiB
        if (read > 0 && (pageSize < 512 || !header[..16].SequenceEqual("SQLite format 3\0"u8) || length % pageSize != 0))
        {
            throw NotADatabase(path);
        }
    }

    // PRAGMA quick_check, on a read-only connection of its own, interrupted past Storage:StartCheckTimeout: a store found
    // damaged stops the start before the writer opens the file, so nothing is written into it.
    public static void CheckPages(string path, TimeSpan timeout, ILogger logger, SqliteDamage damage)
    {
        if (timeout <= TimeSpan.Zero || SqliteConnections.FileLength(path) is null or 0)
        {
            return;
        }

        List<string> problems;
        try
        {
            problems = SqliteIntegrityCheck.Run(path, "quick_check", timeout);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == raw.SQLITE_INTERRUPT)
        {
            logger.LogWarning("The start-up check of {Path} was cut short after {Timeout} (Storage:StartCheckTimeout): the part it read is sound; 'wattstream store check' checks the whole file", path, timeout);
            return;
        }

        if (problems.Count > 0)
        {
            damage.FoundAtStart(problems[0]);
            throw new StoreStartException($"{path} is damaged ({SqliteIntegrityCheck.Summary(problems)}). The hub does not write into a damaged store: restore it from a backup, or move it aside (with its -wal and -shm) to start with an empty one; 'wattstream store check' lists the damage.");
        }
    }

    /// <summary>What an error of SQLite while the store opens and migrates means to the operator.</summary>
    public static StoreStartException Failure(string path, SqliteException e) => e.SqliteErrorCode switch
    {
        raw.SQLITE_NOTADB => NotADatabase(path, e),
        raw.SQLITE_CORRUPT => new StoreStartException($"{path} is damaged ({e.Message}). The hub does not write into a damaged store: restore it from a backup, or move it aside (with its -wal and -shm) to start with an empty one.", inner: e),
        raw.SQLITE_FULL or raw.SQLITE_IOERR => DiskFull(path, e), // EFBIG past a file-size limit is an I/O error on write
        raw.SQLITE_READONLY => new StoreStartException($"the database {path} is read-only ({e.Message}): give the hub's user write access to it and its folder (Storage:DataDirectory).", inner: e),
        raw.SQLITE_BUSY or raw.SQLITE_LOCKED => new StoreStartException($"{path} is locked by another process ({e.Message}); is another hub using Storage:DataDirectory?", transient: true, inner: e),
        raw.SQLITE_CANTOPEN => new StoreStartException($"cannot open {path} (Storage:DataDirectory): {e.Message}. Check that the folder and the file exist and are writable by the hub's user.", inner: e),
        _ => new StoreStartException($"cannot open {path} (Storage:DataDirectory): {e.Message}", inner: e),
    };

    // The nearest existing ancestor of a folder, when it is a file ("Could not find a part of the path" says nothing).
    private static string? BlockingFile(string folder)
    {
        for (var path = folder; !string.IsNullOrEmpty(path); path = Path.GetDirectoryName(path))
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

    private static StoreStartException NotADatabase(string path, Exception? inner = null) =>
        new($"{path} is not a SQLite database (truncated or overwritten?). Restore it from a backup, or move it aside (with any -wal and -shm beside it) to start with an empty store.", inner: inner);

    private static StoreStartException DiskFull(string path, Exception inner) =>
        new($"the disk holding {Path.GetDirectoryName(path)} is full, or a file-size limit stops {path} from growing (Storage:DataDirectory): {inner.Message}. Free space (or raise the limit), or point Storage:DataDirectory at a larger disk.", inner: inner);

    private static bool IsDiskFull(Exception e) => e is SqliteException { SqliteErrorCode: raw.SQLITE_FULL }
        || (e is IOException io && (io.HResult & 0xFFFF) is 28 or 27); // ENOSPC, EFBIG
}
