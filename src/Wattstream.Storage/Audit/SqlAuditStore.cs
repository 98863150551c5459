using System.Data.Common;
using System.Globalization;
using Wattstream.Storage.Alerts;

namespace Wattstream.Storage.Audit;

/// <summary>The audit log in the history database, over plain ADO.NET (SQLite and PostgreSQL share the statements).</summary>
public sealed class SqlAuditStore(Func<CancellationToken, ValueTask<DbConnection>> open, bool postgres) : IAuditStore
{
    private const string Columns = "id, ts, subject, issuer, org, action, kind, target, details";

    public Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        var id = SqlMigration.IdColumn(postgres);
        var i64 = SqlMigration.Int64(postgres);
        return SqlMigration.RunAsync(open, postgres, 727274, $"""
            CREATE TABLE IF NOT EXISTS audit (
              id {id},
              ts {i64} NOT NULL,
              subject TEXT NOT NULL,
              issuer TEXT,
              org TEXT,
              action TEXT NOT NULL,
              kind TEXT NOT NULL,
              target TEXT NOT NULL,
              details TEXT
            );
            CREATE INDEX IF NOT EXISTS audit_by_org ON audit (org, id);
            CREATE INDEX IF NOT EXISTS audit_by_time ON audit (ts);
            """, cancellationToken);
    }

    public async Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO audit (ts, subject, issuer, org, action, kind, target, details) VALUES (@ts, @subject, @issuer, @org, @action, @kind, @target, @details)";
        SqlAlertStore.Add(command, "@ts", entry.Timestamp);
        SqlAlertStore.Add(command, "@subject", entry.Subject);
        SqlAlertStore.Add(command, "@issuer", entry.Issuer);
        SqlAlertStore.Add(command, "@org", entry.Org);
        SqlAlertStore.Add(command, "@action", entry.Action);
        SqlAlertStore.Add(command, "@kind", entry.Kind);
        SqlAlertStore.Add(command, "@target", entry.Target);
        SqlAlertStore.Add(command, "@details", entry.Details);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Orgs is { Count: 0 })
        {
            return new AuditPage([], 0);
        }

        var where = query.Orgs is null ? "" : postgres ? " WHERE org = ANY(@orgs)" : " WHERE org IN (SELECT value FROM json_each(@orgs))";
        await using var connection = await open(cancellationToken);
        long total;
        await using (var count = connection.CreateCommand())
        {
            count.CommandText = "SELECT COUNT(*) FROM audit" + where;
            AddOrgs(count, query.Orgs);
            total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM audit{where} ORDER BY id DESC LIMIT @limit OFFSET @offset";
        AddOrgs(command, query.Orgs);
        SqlAlertStore.Add(command, "@limit", (long)query.Limit);
        SqlAlertStore.Add(command, "@offset", (long)query.Offset);
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            entries.Add(new AuditEntry(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), Text(3), Text(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), Text(8)));
        }

        return new AuditPage(entries, total);
    }

    public async Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default)
    {
        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM audit WHERE ts < @ts";
        SqlAlertStore.Add(command, "@ts", timestamp);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> TrimAsync(int keepPerOrg, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepPerOrg);
        await using var connection = await open(cancellationToken);
        var orgs = new List<string?>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT DISTINCT org FROM audit";
            await using var reader = await list.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                orgs.Add(reader.IsDBNull(0) ? null : reader.GetString(0));
            }
        }

        long deleted = 0;
        foreach (var org in orgs)
        {
            var same = org is null ? "org IS NULL" : "org = @org";
            await using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM audit WHERE {same} AND id <= (SELECT id FROM audit WHERE {same} ORDER BY id DESC LIMIT 1 OFFSET @keep)";
            if (org is not null)
            {
                SqlAlertStore.Add(command, "@org", org);
            }

            SqlAlertStore.Add(command, "@keep", (long)keepPerOrg);
            deleted += await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return deleted;
    }

    private void AddOrgs(DbCommand command, IReadOnlyCollection<string>? orgs)
    {
        if (orgs is not null)
        {
            SqlAlertStore.AddList(command, "@orgs", orgs, postgres);
        }
    }
}
