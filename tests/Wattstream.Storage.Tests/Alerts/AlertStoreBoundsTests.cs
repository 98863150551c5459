using Wattstream.Storage.Alerts;
using Wattstream.Storage.Audit;

namespace Wattstream.Storage.Tests;

/// <summary>Per-org bounds of stored alerts and the audit log, against each real database.</summary>
public abstract class AlertStoreBoundsContract : IAsyncLifetime
{
    private IReadingStore _store = null!;

    protected abstract Task<IReadingStore> CreateStoreAsync();

    protected abstract IAlertStore Alerts(IReadingStore store);

    protected abstract IAuditStore Audit(IReadingStore store);

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        await _store.MigrateAsync();
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task Trimming_keeps_each_orgs_newest_alerts_and_touches_only_the_orgs_named()
    {
        var alerts = Alerts(_store);
        await alerts.MigrateAsync();
        for (var i = 0; i < 6; i++)
        {
            await alerts.AppendAsync(new StoredAlert(0, "r", "threshold", "firing", "flood", "s1", "gw/m0", 1000 + i, "{}"u8.ToArray()));
            if (i < 2)
            {
                await alerts.AppendAsync(new StoredAlert(0, "r", "threshold", "firing", "calm", "s1", "gw/m0", 1000 + i, "{}"u8.ToArray()));
            }
        }

        async Task<long[]> Times(string org) => [.. (await alerts.QueryAsync(new AlertQuery { Orgs = [org], NewestFirst = true })).Select(a => a.Timestamp)];

        Assert.Equal(0, await alerts.TrimAsync(1, ["nobody"]));
        Assert.Equal(3, await alerts.TrimAsync(3, ["flood"]));
        Assert.Equal(new long[] { 1005L, 1004L, 1003L }, await Times("flood"));
        Assert.Equal(new long[] { 1001L, 1000L }, await Times("calm"));
        Assert.Equal(3, await alerts.TrimAsync(1)); // every org
        Assert.Equal(new long[] { 1005L }, await Times("flood"));
        Assert.Equal(new long[] { 1001L }, await Times("calm"));
    }

    [Fact]
    public async Task The_audit_log_is_read_newest_first_per_org_with_a_total_and_bounded_per_org_and_by_age()
    {
        var audit = Audit(_store);
        await audit.MigrateAsync();
        await audit.MigrateAsync(); // idempotent
        var entries = new[]
        {
            new AuditEntry(0, 1000, "alice", "iss", "acme", "created", "api_key", "k1", """{"name":"gw"}"""),
            new AuditEntry(0, 2000, "root", null, null, "created", "alert_rule", "every-org", null),
            new AuditEntry(0, 3000, "bob", null, "globex", "created", "alert_rule", "g1", null),
            new AuditEntry(0, 4000, "alice", "iss", "acme", "revoked", "api_key", "k1", """{"name":"gw"}"""),
            new AuditEntry(0, 5000, "alice", "iss", "acme", "created", "alert_rule", "a1", null),
        };
        foreach (var entry in entries)
        {
            await audit.AppendAsync(entry);
        }

        var acme = await audit.QueryAsync(new AuditQuery(["acme"], 0, 2));
        Assert.Equal(3, acme.Total);
        Assert.Equal([5000L, 4000L], acme.Entries.Select(e => e.Timestamp));
        Assert.Equal(entries[3], acme.Entries[1] with { Id = 0 });
        Assert.Equal([1000L], (await audit.QueryAsync(new AuditQuery(["acme"], 2, 10))).Entries.Select(e => e.Timestamp));
        var all = await audit.QueryAsync(new AuditQuery(null, 0, 100));
        Assert.Equal([5000L, 4000L, 3000L, 2000L, 1000L], all.Entries.Select(e => e.Timestamp));
        Assert.Equal(all.Entries.Select(e => e.Id).Order().Reverse(), all.Entries.Select(e => e.Id));
        Assert.Equal(0, (await audit.QueryAsync(new AuditQuery([], 0, 100))).Total);
        Assert.Equal(["globex"], (await audit.QueryAsync(new AuditQuery(["globex", "nobody"], 0, 100))).Entries.Select(e => e.Org));

        Assert.Equal(2, await audit.TrimAsync(1)); // acme keeps its newest; globex and the hub-wide one are alone
        Assert.Equal([5000L, 3000L, 2000L], (await audit.QueryAsync(new AuditQuery(null, 0, 100))).Entries.Select(e => e.Timestamp));
        Assert.Equal(2, await audit.DeleteOlderThanAsync(3001));
        Assert.Equal([5000L], (await audit.QueryAsync(new AuditQuery(null, 0, 100))).Entries.Select(e => e.Timestamp));
    }
}

public sealed class SqliteAlertStoreBoundsTests : AlertStoreBoundsContract, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wattstream-bounds-{Guid.NewGuid():N}");

    protected override Task<IReadingStore> CreateStoreAsync() =>
        Task.FromResult<IReadingStore>(new Sqlite.SqliteReadingStore(Path.Combine(_directory, "history.db")));

    protected override IAlertStore Alerts(IReadingStore store) => ((Sqlite.SqliteReadingStore)store).CreateAlertStore();

    protected override IAuditStore Audit(IReadingStore store) => ((Sqlite.SqliteReadingStore)store).CreateAuditStore();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

[Collection("postgres")]
public sealed class PostgresAlertStoreBoundsTests(PostgresCluster cluster) : AlertStoreBoundsContract
{
    protected override async Task<IReadingStore> CreateStoreAsync() => new Postgres.PostgresReadingStore(await cluster.CreateDatabaseAsync());

    protected override IAlertStore Alerts(IReadingStore store) => ((Postgres.PostgresReadingStore)store).CreateAlertStore();

    protected override IAuditStore Audit(IReadingStore store) => ((Postgres.PostgresReadingStore)store).CreateAuditStore();
}
