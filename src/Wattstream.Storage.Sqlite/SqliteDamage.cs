using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// Whether the store's file was found damaged (by the start check, a write or a read): once it is, nothing more is
/// written into it and <c>/readyz</c> says so. The first finding is kept and logged once.
/// </summary>
internal sealed class SqliteDamage(string path, ILogger logger)
{
    private string? _damage;

    /// <summary>What was found wrong first; null while the file is sound.</summary>
    public string? Current => Volatile.Read(ref _damage);

    public static bool IsCorruption(SqliteException e) => e.SqliteErrorCode is raw.SQLITE_CORRUPT or raw.SQLITE_NOTADB;

    /// <summary>Records what the start check found (it stops the start itself, so no log line here).</summary>
    public void FoundAtStart(string problem) => Volatile.Write(ref _damage, problem);

    /// <summary>Records corruption met while running, logs it once, and returns the error for the caller.</summary>
    public StoreDamagedException Found(SqliteException e)
    {
        if (Interlocked.CompareExchange(ref _damage, e.Message, null) is null)
        {
            logger.LogError("{Path} is damaged ({Error}): nothing more is written into it, /readyz says so. Stop the hub, then restore the file from a backup or move it aside ('wattstream store check' lists the damage)", path, e.Message);
        }

        return new StoreDamagedException($"The history store {path} is damaged ({e.Message}). Restore it from a backup, or move it aside and restart; 'wattstream store check' lists the damage.", e);
    }

    /// <summary>Before every write: a damaged file takes nothing more.</summary>
    public void ThrowIfDamaged()
    {
        if (Current is { } damage)
        {
            throw new StoreDamagedException($"{path} is damaged ({damage}); nothing more is written into it. Restore it from a backup, or move it aside and restart.");
        }
    }
}
