using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// The writer's own WAL checkpoints, and the count of the store's reads in flight that decides their mode.
/// </summary>
/// <remarks>
/// The WAL grows until a checkpoint copies it into the database; SQLite's automatic one (PASSIVE, every 1 000 pages)
/// never shrinks the file, and a reader holding an old snapshot stops it from restarting the log. So every
/// <c>Storage:CheckpointInterval</c> the writer checkpoints itself: TRUNCATE (the file back to zero) when no query of
/// ours reads, PASSIVE otherwise; with no wait either way (a reader of another process makes it PASSIVE too), so writes
/// never stall.
/// </remarks>
internal sealed class SqliteCheckpointer(TimeSpan interval)
{
    private long _lastCheckpoint = Environment.TickCount64;
    private int _readers;

    /// <summary>A read of the store's starts: checkpoints leave the WAL in place until it ends.</summary>
    public void ReadStarted() => Interlocked.Increment(ref _readers);

    public void ReadEnded() => Interlocked.Decrement(ref _readers);

    /// <summary>On the writer, after a write: checkpoints when the interval has passed; true when it did.</summary>
    public bool CheckpointWhenDue(SqliteConnection connection)
    {
        var now = Environment.TickCount64;
        if (now - _lastCheckpoint < (long)interval.TotalMilliseconds)
        {
            return false;
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
                SqliteConnections.Check(db, result);
            }
        }
        finally
        {
            raw.sqlite3_busy_timeout(db, SqliteConnections.BusyTimeoutMs);
        }

        return true;
    }
}
