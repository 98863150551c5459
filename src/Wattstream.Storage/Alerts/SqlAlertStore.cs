using System.Data.Common;
using System.Text;
using System.Text.Json;

namespace Wattstream.Storage.Alerts;

/// <summary>
/// Alert rules and alerts in the history database, over plain ADO.NET: SQLite and PostgreSQL run the same statements
/// and differ only in the id column and how a list parameter is passed.
/// </summary>
public sealed class SqlAlertStore(Func<CancellationToken, ValueTask<DbConnection>> open, bool postgres) : IAlertStore
{
    public Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        var id = SqlMigration.IdColumn(postgres);
        var i64 = SqlMigration.Int64(postgres);
        var blob = postgres ? "BYTEA" : "BLOB";
        return SqlMigration.RunAsync(open, postgres, 727273, $"""
            CREATE TABLE IF NOT EXISTS alert_rules (
              id TEXT PRIMARY KEY,
              org TEXT,
              site TEXT,
              body TEXT NOT NULL,
              updated {i64} NOT NULL
            );
            CREATE TABLE IF NOT EXISTS alerts (
              id {id},
              rule_id TEXT NOT NULL,
              type TEXT NOT NULL,
              state TEXT NOT NULL,
              org TEXT NOT NULL,
              site TEXT NOT NULL,
              der TEXT,
              ts {i64} NOT NULL,
              body {blob} NOT NULL
            );
            CREATE INDEX IF NOT EXISTS alerts_by_site ON alerts (org, site, id);
            CREATE INDEX IF NOT EXISTS alerts_by_org ON alerts (org, id);
            CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (ts);
            """, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredAlertRule>> ListRulesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, org, site, body, updated FROM alert_rules ORDER BY id";
        var result = new List<StoredAlertRule>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new StoredAlertRule(
                reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3),
                reader.GetInt64(4)));
        }

        return result;
    }

    public async Task SaveRuleAsync(StoredAlertRule rule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rule);
        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO alert_rules (id, org, site, body, updated) VALUES (@id, @org, @site, @body, @updated)
            ON CONFLICT (id) DO UPDATE SET org = excluded.org, site = excluded.site, body = excluded.body, updated = excluded.updated
            """;
        Add(command, "@id", rule.Id);
        Add(command, "@org", rule.Org);
        Add(command, "@site", rule.Site);
        Add(command, "@body", rule.Body);
        Add(command, "@updated", rule.UpdatedAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> DeleteRuleAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM alert_rules WHERE id = @id";
        Add(command, "@id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<long> AppendAsync(StoredAlert alert, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alert);
        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO alerts (rule_id, type, state, org, site, der, ts, body) VALUES (@rule, @type, @state, @org, @site, @der, @ts, @body) RETURNING id";
        Add(command, "@rule", alert.Rule);
        Add(command, "@type", alert.Type);
        Add(command, "@state", alert.State);
        Add(command, "@org", alert.Org);
        Add(command, "@site", alert.Site);
        Add(command, "@der", alert.Der);
        Add(command, "@ts", alert.Timestamp);
        Add(command, "@body", alert.Body);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default)
    {
        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM alerts WHERE ts < @ts";
        Add(command, "@ts", timestamp);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> TrimAsync(int keepPerOrg, IReadOnlyCollection<string>? orgs = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepPerOrg);
        await using var connection = await open(cancellationToken);
        if (orgs is null)
        {
            await using var list = connection.CreateCommand();
            list.CommandText = "SELECT DISTINCT org FROM alerts";
            var all = new List<string>();
            await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    all.Add(reader.GetString(0));
                }
            }

            orgs = all;
        }

        long deleted = 0;
        foreach (var org in orgs)
        {
            // The id of the newest alert past the bound (an index walk of keepPerOrg entries), then everything up to it.
            await using var command = connection.CreateCommand();
            command.CommandText = """
                DELETE FROM alerts WHERE org = @org AND id <= (SELECT id FROM alerts WHERE org = @org ORDER BY id DESC LIMIT 1 OFFSET @keep)
                """;
            Add(command, "@org", org);
            Add(command, "@keep", (long)keepPerOrg);
            deleted += await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return deleted;
    }

    public async Task<IReadOnlyList<StoredAlert>> QueryAsync(AlertQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Orgs is { Count: 0 } || query.Sites is { Count: 0 })
        {
            return [];
        }

        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT id, rule_id, type, state, org, site, der, ts, body FROM alerts WHERE 1 = 1");
        if (query.Orgs is not null)
        {
            sql.Append(postgres ? " AND org = ANY(@orgs)" : " AND org IN (SELECT value FROM json_each(@orgs))");
            AddList(command, "@orgs", query.Orgs, postgres);
        }

        if (query.Sites is not null)
        {
            sql.Append(postgres ? " AND site = ANY(@sites)" : " AND site IN (SELECT value FROM json_each(@sites))");
            AddList(command, "@sites", query.Sites, postgres);
        }

        Filter(sql, command, "site", "@site", query.Site);
        Filter(sql, command, "state", "@state", query.State);
        Filter(sql, command, "type", "@type", query.Type);
        Range(sql, command, "ts >= @from", "@from", query.From);
        Range(sql, command, "ts < @to", "@to", query.To);
        Range(sql, command, "id > @after", "@after", query.AfterId);
        Range(sql, command, "id < @before", "@before", query.BeforeId);
        sql.Append(query.NewestFirst ? " ORDER BY id DESC" : " ORDER BY id").Append(" LIMIT @limit");
        Add(command, "@limit", (long)query.Limit);
        command.CommandText = sql.ToString();
        var result = new List<StoredAlert>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new StoredAlert(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetInt64(7),
                (byte[])reader.GetValue(8)));
        }

        return result;
    }

    private static void Filter(StringBuilder sql, DbCommand command, string column, string name, string? value)
    {
        if (value is not null)
        {
            sql.Append(" AND ").Append(column).Append(" = ").Append(name);
            Add(command, name, value);
        }
    }

    private static void Range(StringBuilder sql, DbCommand command, string condition, string name, long? value)
    {
        if (value is { } v)
        {
            sql.Append(" AND ").Append(condition);
            Add(command, name, v);
        }
    }

    /// <summary>A list of strings as one parameter: an array for PostgreSQL (<c>= ANY(@p)</c>), JSON for SQLite (<c>json_each(@p)</c>).</summary>
    internal static void AddList(DbCommand command, string name, IReadOnlyCollection<string> values, bool postgres)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = postgres ? values.ToArray() : JsonSerializer.Serialize(values.ToArray(), StorageJsonContext.Default.StringArray);
        command.Parameters.Add(p);
    }

    internal static void Add(DbCommand command, string name, object? value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        command.Parameters.Add(p);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class StorageJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
