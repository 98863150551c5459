using Microsoft.Data.Sqlite;
using SQLitePCL;
using Wattstream.Telemetry;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// The store's reads, each on a pooled connection of its own (WAL lets it read while the writer writes): counted for
/// the checkpoints, history queries stopped past <c>Storage:QueryTimeout</c>, and corruption they meet marks the store damaged.
/// </summary>
internal sealed class SqliteReadingQueries(SqliteConnections connections, SqliteCheckpointer checkpointer, SqliteDamage damage, TimeSpan queryTimeout)
{
    public Task<StoredTimeRange?> TimeRangeAsync(CancellationToken cancellationToken) =>
        ReadAsync((connection, ct) => HistoryQueries.TimeRangeAsync(connection, ct), cancellationToken);

    public Task<IReadOnlyList<HistorySeries>> QueryAsync(HistoryQuery query, CancellationToken cancellationToken) =>
        ReadAsync(async (connection, ct) =>
        {
            var ids = await DerIdsAsync(connection, query.Ders, ct);
            return await HistoryQueries.QueryAsync(connection, ids, query, postgres: false, ct);
        }, cancellationToken, bounded: true);

    public Task<IReadOnlyList<StoredDer>> ListDersAsync(CancellationToken cancellationToken) =>
        ReadAsync(HistoryQueries.ListDersAsync, cancellationToken);

    public Task<IReadOnlyList<StoredReading>> ReadEventsAsync(IReadOnlyList<DerAddress> ders, EventPosition after, EventPosition before, int limit, CancellationToken cancellationToken) =>
        ReadAsync(async (connection, ct) =>
        {
            var ids = await DerIdsAsync(connection, ders, ct);
            return await HistoryQueries.ReadEventsAsync(connection, postgres: false, ids, ders, after, before, limit, ct);
        }, cancellationToken, bounded: true);

    public Task<long> CountAsync(CancellationToken cancellationToken) => ReadAsync(async (connection, ct) =>
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM readings";
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }, cancellationToken);

    // A read on a pooled connection of its own: counted (the checkpoint leaves the WAL alone while one runs), for history
    // queries stopped past Storage:QueryTimeout (sqlite3_interrupt ends a statement mid-step; a read transaction pins the
    // WAL for as long as it lasts), and corruption it meets marks the store damaged. The hub's own reads (the DER list at
    // start, the time range for Storage:MaxBytes) are index probes and not bounded.
    private async Task<T> ReadAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> read, CancellationToken cancellationToken, bool bounded = false)
    {
        checkpointer.ReadStarted();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (bounded)
        {
            timeout.CancelAfter(queryTimeout);
        }

        try
        {
            await using var connection = connections.Open();
            await using var interrupt = timeout.Token.Register(() => raw.sqlite3_interrupt(connection.Handle));
            return await read(connection, timeout.Token);
        }
        catch (SqliteException e) when (SqliteDamage.IsCorruption(e))
        {
            throw damage.Found(e);
        }
        catch (Exception e) when (e is SqliteException { SqliteErrorCode: raw.SQLITE_INTERRUPT } or OperationCanceledException && timeout.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested(); // the caller gave up: not a timeout
            throw new StoreQueryTimeoutException($"The read ran past Storage:QueryTimeout ({queryTimeout.TotalSeconds:0.###} s) and was stopped: ask for a shorter range or a coarser step.", e);
        }
        finally
        {
            checkpointer.ReadEnded();
        }
    }

    private static async Task<Dictionary<string, long>> DerIdsAsync(SqliteConnection connection, IReadOnlyList<DerAddress> ders, CancellationToken cancellationToken)
    {
        // One statement with the subjects as one JSON array parameter, however many DERs.
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT subject, id FROM ders WHERE subject IN (SELECT value FROM json_each(@s))";
        command.Parameters.AddWithValue("@s", System.Text.Json.JsonSerializer.Serialize(ders.Select(d => d.Subject).ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result[reader.GetString(0)] = reader.GetInt64(1);
        }

        return result;
    }
}
