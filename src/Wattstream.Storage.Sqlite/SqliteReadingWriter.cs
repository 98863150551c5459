using System.Buffers;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Wattstream.Telemetry;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// The writes into the readings table, on the writer connection (the writer thread's alone): batches in one
/// transaction with one prepared statement, the DER ids they need (cached once committed), and the retention delete.
/// </summary>
internal sealed class SqliteReadingWriter
{
    private static readonly string InsertSql =
        $"INSERT INTO readings (der_id, ts, epoch, seq, {HistorySql.FieldColumns}, payload) VALUES ({string.Join(", ", Enumerable.Range(1, 5 + HistoryFields.All.Count).Select(i => "?" + i))}) ON CONFLICT DO NOTHING";

    private readonly Dictionary<string, long> _derIds = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _payload = new(512); // a row's payload, bound (and copied by SQLite) before the next

    /// <summary>Inserts the batch in one transaction; the number of readings it added (a reading already stored is skipped).</summary>
    public int Write(SqliteConnection connection, IReadOnlyList<StoredReading> batch)
    {
        using var tx = connection.BeginTransaction();

        // The insert binds through SQLitePCL (the library under Microsoft.Data.Sqlite) by position: Microsoft.Data.Sqlite
        // looks every parameter up by name and boxes every value on every execution, which was half of the time per
        // reading (docs/benchmarks.md, issue 19). Same statement, same transaction, same connection.
        var db = connection.Handle!;
        SqliteConnections.Check(db, raw.sqlite3_prepare_v2(db, InsertSql, out var insert));
        using (insert)
        {
            var inserted = 0;
            var newDers = new Dictionary<string, long>(StringComparer.Ordinal);
            var fields = HistoryFields.All;
            var columns = new double?[fields.Count];
            foreach (var item in batch)
            {
                var r = item.Reading;
                raw.sqlite3_bind_int64(insert, 1, DerId(connection, tx, r.Der, r.Type, newDers));
                raw.sqlite3_bind_int64(insert, 2, r.Timestamp);
                raw.sqlite3_bind_int64(insert, 3, item.Event.Epoch);
                raw.sqlite3_bind_int64(insert, 4, item.Event.Sequence);
                for (var i = 0; i < fields.Count; i++)
                {
                    columns[i] = fields[i].ValueOf(r);
                    _ = columns[i] is { } value ? raw.sqlite3_bind_double(insert, 5 + i, value) : raw.sqlite3_bind_null(insert, 5 + i);
                }

                // Only what the columns do not hold (schema version 2).
                _payload.ResetWrittenCount();
                StoredPayload.Write(r, columns, _payload);
                raw.sqlite3_bind_blob(insert, 5 + fields.Count, _payload.WrittenSpan);
                var step = raw.sqlite3_step(insert);
                if (step != raw.SQLITE_DONE)
                {
                    SqliteConnections.Check(db, step);
                }

                inserted += raw.sqlite3_changes(db);
                raw.sqlite3_reset(insert);
            }

            tx.Commit();
            foreach (var (subject, id) in newDers)
            {
                _derIds[subject] = id; // cached only once committed: a rolled-back batch leaves no stale id behind
            }

            return inserted;
        }
    }

    /// <summary>Deletes the readings older than <paramref name="timestamp"/> (epoch ms); how many it deleted.</summary>
    public static long DeleteOlderThan(SqliteConnection connection, long timestamp)
    {
        using var command = connection.CreateCommand();
        // Per DER, so the (der_id, ts) key finds the rows: ts alone has no index (it would slow every insert).
        command.CommandText = "DELETE FROM readings WHERE der_id IN (SELECT id FROM ders) AND ts < @ts";
        command.Parameters.AddWithValue("@ts", timestamp);
        return command.ExecuteNonQuery();
    }

    private long DerId(SqliteConnection connection, SqliteTransaction tx, DerAddress der, DerType type, Dictionary<string, long> newDers)
    {
        if (_derIds.TryGetValue(der.Subject, out var id) || newDers.TryGetValue(der.Subject, out id))
        {
            return id;
        }

        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "INSERT INTO ders (subject, org, site, device, der, type) VALUES (@s, @o, @si, @d, @de, @t) ON CONFLICT (subject) DO NOTHING; SELECT id FROM ders WHERE subject = @s;";
        command.Parameters.AddWithValue("@s", der.Subject);
        command.Parameters.AddWithValue("@o", der.Org);
        command.Parameters.AddWithValue("@si", der.Site);
        command.Parameters.AddWithValue("@d", der.Device);
        command.Parameters.AddWithValue("@de", der.Der);
        command.Parameters.AddWithValue("@t", type.ToWireName());
        id = (long)command.ExecuteScalar()!;
        newDers[der.Subject] = id;
        return id;
    }
}
