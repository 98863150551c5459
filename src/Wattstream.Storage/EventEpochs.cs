using System.Data.Common;
using static Wattstream.Storage.Alerts.SqlAlertStore;

namespace Wattstream.Storage;

/// <summary>How a run's ids were placed: on from a clean stop, or in a new epoch (a new store, or the last run did not stop cleanly).</summary>
public enum EpochStart
{
    NewStore,
    Continued,
    AfterUncleanStop,
}

/// <summary>The epoch a run's event ids count in, and the first sequence it gives.</summary>
public sealed record EpochRun(long Epoch, long FirstSequence, EpochStart Start);

/// <summary>
/// The store's ledger of event-id epochs (table <c>event_epochs</c>): one row per epoch with the hub that counts in it
/// (its data directory) and, once it stopped cleanly, the sequence to go on from. While a run counts in an epoch the
/// row's <c>next_seq</c> is empty, so a run that never noted its stop (killed, crashed) is recognisable: ids it gave out
/// may never have been stored, and reusing them would place a client after events it never got, so the next run takes
/// a new epoch. SQLite and PostgreSQL run the same statements.
/// </summary>
public sealed class SqlEventEpochs(Func<CancellationToken, ValueTask<DbConnection>> open, bool postgres)
{
    private const long LockKey = 727274;

    public Task MigrateAsync(CancellationToken cancellationToken = default) =>
        SqlMigration.RunAsync(open, postgres, LockKey, $"""
            CREATE TABLE IF NOT EXISTS event_epochs (
              epoch {SqlMigration.Int64(postgres)} PRIMARY KEY,
              owner TEXT NOT NULL,
              next_seq {SqlMigration.Int64(postgres)}
            );
            """, cancellationToken);

    /// <summary>
    /// Begins a run of <paramref name="owner"/>: its epoch goes on where its last clean stop left it, or a new epoch is
    /// made, later than every epoch the store holds (so ids of the store's earlier epochs sort before it).
    /// </summary>
    public async Task<EpochRun> BeginAsync(string owner, long nowMs, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        await using var connection = await open(cancellationToken);
        // SQLite: an IMMEDIATE transaction (Microsoft.Data.Sqlite's default), so the read and the write are one step.
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        if (postgres)
        {
            await ScalarAsync(connection, tx, $"SELECT pg_advisory_xact_lock({LockKey})", cancellationToken);
        }

        long? last = null;
        long? next = null;
        await using (var command = Command(connection, tx, "SELECT epoch, next_seq FROM event_epochs WHERE owner = @owner ORDER BY epoch DESC LIMIT 1"))
        {
            Add(command, "@owner", owner);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                last = reader.GetInt64(0);
                next = reader.IsDBNull(1) ? null : reader.GetInt64(1);
            }
        }

        EpochRun run;
        if (last is { } epoch && next is { } sequence)
        {
            await using var claim = Command(connection, tx, "UPDATE event_epochs SET next_seq = NULL WHERE epoch = @epoch");
            Add(claim, "@epoch", epoch);
            await claim.ExecuteNonQueryAsync(cancellationToken);
            run = new EpochRun(epoch, sequence, EpochStart.Continued);
        }
        else
        {
            var newest = Math.Max(
                await ScalarAsync(connection, tx, "SELECT COALESCE(MAX(epoch), 0) FROM event_epochs", cancellationToken),
                await ScalarAsync(connection, tx, "SELECT COALESCE(MAX(epoch), 0) FROM readings", cancellationToken));
            var fresh = Math.Max(nowMs, newest + 1);
            await using var insert = Command(connection, tx, "INSERT INTO event_epochs (epoch, owner, next_seq) VALUES (@epoch, @owner, NULL)");
            Add(insert, "@epoch", fresh);
            Add(insert, "@owner", owner);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            run = new EpochRun(fresh, 1, last is null ? EpochStart.NewStore : EpochStart.AfterUncleanStop);
        }

        await tx.CommitAsync(cancellationToken);
        return run;
    }

    /// <summary>Notes a clean stop: the next run of the epoch's owner gives <paramref name="nextSequence"/> next.</summary>
    public async Task EndAsync(long epoch, long nextSequence, CancellationToken cancellationToken = default)
    {
        await using var connection = await open(cancellationToken);
        await using var command = Command(connection, null, "UPDATE event_epochs SET next_seq = @next WHERE epoch = @epoch");
        Add(command, "@next", nextSequence);
        Add(command, "@epoch", epoch);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Whether the store still holds an event of <paramref name="epoch"/> at or before <paramref name="sequence"/>.</summary>
    public async Task<bool> HoldsAsync(long epoch, long sequence, CancellationToken cancellationToken = default)
    {
        await using var connection = await open(cancellationToken);
        await using var command = Command(connection, null, "SELECT COUNT(*) FROM (SELECT 1 FROM readings WHERE epoch = @epoch AND seq <= @seq LIMIT 1) held");
        Add(command, "@epoch", epoch);
        Add(command, "@seq", sequence);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        return command;
    }

    private static async Task<long> ScalarAsync(DbConnection connection, DbTransaction tx, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, tx, sql);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? 0 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
