using System.Text;

namespace Wattstream.Storage;

/// <summary>
/// The SQL both stores share. The schema and statements differ only where the two databases do: column types, and how
/// "last value in a bucket" is picked. Column names come from <see cref="HistoryField"/>, never from user input.
/// </summary>
public static class HistorySql
{
    /// <summary>
    /// 1: the tables. 2 (issue 31): a row's payload holds only what its columns do not (<see cref="StoredPayload"/>);
    /// rows written before stay JSON and are read as they are. A version older than this refuses a version-2 file.
    /// </summary>
    public const int SchemaVersion = 2;

    public static string FieldColumns => string.Join(", ", HistoryFields.All.Select(f => f.Column()));

    /// <remarks>
    /// SQLite keeps readings in a rowid table (appended in arrival order) with the (der_id, ts) key as a small separate
    /// index: as a WITHOUT ROWID table the wide rows of interleaved DERs land all over the tree and ingest is several
    /// times slower.
    /// </remarks>
    public static string CreateSchema(bool postgres)
    {
        var i64 = postgres ? "BIGINT" : "INTEGER";
        var f64 = postgres ? "DOUBLE PRECISION" : "REAL";
        var blob = postgres ? "BYTEA" : "BLOB";
        var id = postgres ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY";
        var columns = string.Join(",\n  ", HistoryFields.All.Select(f => $"{f.Column()} {f64}"));
        return $"""
            CREATE TABLE IF NOT EXISTS ders (
              id {id},
              subject TEXT NOT NULL UNIQUE,
              org TEXT NOT NULL, site TEXT NOT NULL, device TEXT NOT NULL, der TEXT NOT NULL, type TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS readings (
              der_id {i64} NOT NULL REFERENCES ders(id),
              ts {i64} NOT NULL,
              epoch {i64} NOT NULL,
              seq {i64} NOT NULL,
              {columns},
              payload {blob} NOT NULL,
              PRIMARY KEY (der_id, ts)
            );
            CREATE INDEX IF NOT EXISTS readings_event ON readings (epoch, seq);
            -- (ts alone is not indexed: retention runs per DER on the (der_id, ts) key)
            """;
    }

    /// <summary>
    /// The DER ids a statement is about, as one parameter <c>@ders</c> however many there are (a variable per DER would
    /// pass SQLite's limit of 32 766 at that many DERs): a PostgreSQL <c>bigint[]</c>, a JSON array for SQLite.
    /// </summary>
    public static string DerIdIn(string column, bool postgres) =>
        postgres ? $"{column} = ANY(@ders)" : $"{column} IN (SELECT value FROM json_each(@ders))";

    /// <summary>
    /// One row per (DER, bucket): <c>der_id, bucket, field…</c>. Parameters: @from, @to, @step, and @ders.
    /// </summary>
    public static string Buckets(HistoryQuery query, bool postgres)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = $"{DerIdIn("der_id", postgres)} AND ts >= @from AND ts < @to";
        var bucket = "(ts / @step) * @step";
        var sql = new StringBuilder();
        if (query.Aggregate == Aggregate.Last)
        {
            var cols = string.Join(", ", query.Fields.Select(f => f.Column()));
            if (postgres)
            {
                sql.Append(CultureInvariant($"SELECT DISTINCT ON (der_id, bucket) der_id, {bucket} AS bucket, {cols} FROM readings WHERE {where} ORDER BY der_id, bucket, ts DESC"));
            }
            else
            {
                // SQLite: with MAX(ts), the bare columns come from the row holding the maximum.
                sql.Append(CultureInvariant($"SELECT der_id, {bucket} AS bucket, {cols}, MAX(ts) FROM readings WHERE {where} GROUP BY der_id, bucket ORDER BY der_id, bucket"));
            }
        }
        else
        {
            var fn = query.Aggregate switch { Aggregate.Avg => "AVG", Aggregate.Min => "MIN", _ => "MAX" };
            var cols = string.Join(", ", query.Fields.Select(f => $"{fn}({f.Column()})"));
            sql.Append(CultureInvariant($"SELECT der_id, {bucket} AS bucket, {cols} FROM readings WHERE {where} GROUP BY der_id, bucket ORDER BY der_id, bucket"));
        }

        return sql.ToString();
    }

    /// <summary>
    /// Parameters: @ders, @ae, @as (after), @be, @bs (before), @limit. Columns: org, site, device, der, epoch, seq, ts,
    /// payload, then the fields (<see cref="FieldColumns"/>) that the payload leaves out.
    /// </summary>
    public static string Events(bool postgres)
    {
        return $"""
            SELECT d.org, d.site, d.device, d.der, r.epoch, r.seq, r.ts, r.payload, {string.Join(", ", HistoryFields.All.Select(f => "r." + f.Column()))}
            FROM readings r JOIN ders d ON d.id = r.der_id
            WHERE {DerIdIn("r.der_id", postgres)}
              AND (r.epoch > @ae OR (r.epoch = @ae AND r.seq > @as))
              AND (r.epoch < @be OR (r.epoch = @be AND r.seq < @bs))
            ORDER BY r.epoch, r.seq
            LIMIT @limit
            """;
    }

    private static string CultureInvariant(FormattableString s) => FormattableString.Invariant(s);
}
