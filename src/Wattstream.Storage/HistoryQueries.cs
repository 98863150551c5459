using System.Data.Common;
using Wattstream.Telemetry;

namespace Wattstream.Storage;

/// <summary>
/// The read side both stores share, over plain ADO.NET: each store opens its connection and maps subjects to its DER
/// ids; the statements, parameters and row mapping are the same.
/// </summary>
public static class HistoryQueries
{
    public static async Task<IReadOnlyList<HistorySeries>> QueryAsync(DbConnection connection, IReadOnlyDictionary<string, long> derIds, HistoryQuery query, bool postgres, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(derIds);
        ArgumentNullException.ThrowIfNull(query);
        var known = query.Ders.Where(d => derIds.ContainsKey(d.Subject)).ToArray();
        var result = query.Ders.DistinctBy(d => d.Subject).ToDictionary(d => d.Subject, _ => new List<HistoryPoint>());
        if (known.Length > 0)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = HistorySql.Buckets(query with { Ders = known }, postgres);
            Add(command, "@from", query.From);
            Add(command, "@to", query.To);
            Add(command, "@step", query.StepMs);
            AddDers(command, known, derIds, postgres);
            var byId = known.ToDictionary(d => derIds[d.Subject], d => d.Subject);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var values = new double?[query.Fields.Count];
                for (var f = 0; f < values.Length; f++)
                {
                    values[f] = reader.IsDBNull(2 + f) ? null : reader.GetDouble(2 + f);
                }

                result[byId[reader.GetInt64(0)]].Add(new HistoryPoint(reader.GetInt64(1), values));
            }
        }

        return query.Ders.Select(d => new HistorySeries(d, result[d.Subject])).ToArray();
    }

    public static async Task<IReadOnlyList<StoredDer>> ListDersAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.CreateCommand();
        // The newest reading per DER comes from the primary key (der_id, ts): one index probe per DER, not a scan.
        command.CommandText = "SELECT org, site, device, der, type, (SELECT MAX(r.ts) FROM readings r WHERE r.der_id = d.id) FROM ders d ORDER BY d.id";
        var result = new List<StoredDer>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!DerTypes.TryParse(reader.GetString(4), out var type))
            {
                continue; // a type a later version wrote
            }

            if (!Subjects.IsValidToken(reader.GetString(0)) || !Subjects.IsValidToken(reader.GetString(1))
                || !Subjects.IsValidToken(reader.GetString(2)) || !Subjects.IsValidToken(reader.GetString(3)))
            {
                continue; // written outside the hub, or by a version with a looser grammar: never served
            }

            result.Add(new StoredDer(
                new DerAddress(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)),
                type,
                reader.IsDBNull(5) ? null : reader.GetInt64(5)));
        }

        return result;
    }

    public static async Task<IReadOnlyList<StoredReading>> ReadEventsAsync(
        DbConnection connection,
        bool postgres,
        IReadOnlyDictionary<string, long> derIds,
        IReadOnlyList<DerAddress> ders,
        EventPosition after,
        EventPosition before,
        int limit,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(derIds);
        ArgumentNullException.ThrowIfNull(ders);
        var known = ders.Where(d => derIds.ContainsKey(d.Subject)).DistinctBy(d => d.Subject).ToArray();
        if (known.Length == 0)
        {
            return [];
        }

        await using var command = connection.CreateCommand();
        command.CommandText = HistorySql.Events(postgres);
        AddDers(command, known, derIds, postgres);
        Add(command, "@ae", after.Epoch);
        Add(command, "@as", after.Sequence);
        Add(command, "@be", before.Epoch);
        Add(command, "@bs", before.Sequence);
        Add(command, "@limit", (long)limit);
        var bySubject = known.ToDictionary(d => d.Subject);
        var result = new List<StoredReading>();
        var columns = new double?[HistoryFields.All.Count];
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var address = new DerAddress(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3));
            var der = bySubject.GetValueOrDefault(address.Subject, address);
            var payload = (byte[])reader.GetValue(7);
            if (!StoredPayload.IsJson(payload))
            {
                for (var f = 0; f < columns.Length; f++)
                {
                    columns[f] = reader.IsDBNull(8 + f) ? null : reader.GetDouble(8 + f);
                }
            }

            result.Add(new StoredReading(new EventPosition(reader.GetInt64(4), reader.GetInt64(5)), StoredPayload.Read(payload, der, reader.GetInt64(6), columns)));
        }

        return result;
    }

    private static void AddDers(DbCommand command, IReadOnlyList<DerAddress> ders, IReadOnlyDictionary<string, long> derIds, bool postgres)
    {
        var ids = ders.Select(d => derIds[d.Subject]).ToArray();
        var p = command.CreateParameter();
        p.ParameterName = "@ders";
        p.Value = postgres ? ids : "[" + string.Join(',', ids.Select(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
        command.Parameters.Add(p);
    }

    private static void Add(DbCommand command, string name, long value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
    }

    /// <summary>The oldest and newest reading times, each found per DER on the (der_id, ts) key (ts alone has no index).</summary>
    public static async Task<StoredTimeRange?> TimeRangeAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT MIN(oldest), MAX(newest) FROM (
              SELECT (SELECT MIN(ts) FROM readings WHERE der_id = d.id) AS oldest, (SELECT MAX(ts) FROM readings WHERE der_id = d.id) AS newest FROM ders d
            ) AS per_der
            """;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && !reader.IsDBNull(0)
            ? new StoredTimeRange(reader.GetInt64(0), reader.GetInt64(1))
            : null;
    }
}
