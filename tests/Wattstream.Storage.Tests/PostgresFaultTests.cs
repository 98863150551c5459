using Npgsql;
using Wattstream.Telemetry;

namespace Wattstream.Storage.Tests;

/// <summary>The PostgreSQL store when the database lost what it had committed (a killed server that acknowledged before the disk, a restore, a failover).</summary>
[Collection("postgres")]
public sealed class PostgresFaultTests(PostgresCluster cluster)
{
    private static readonly DerAddress Meter = new("o", "s", "d", "m");

    private static StoredReading At(long seq, long ms) => new(new EventPosition(1, seq), new Reading(Meter, DerType.Meter, 1_767_225_600_000 + ms, null, [new Measurement(Quantity.ActivePower, ms, Unit.Watt)]));

    [Fact]
    public async Task A_der_the_database_no_longer_has_is_written_again_rather_than_failing_every_retry()
    {
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var store = new Postgres.PostgresReadingStore(connectionString);
        await store.MigrateAsync();
        Assert.Equal(1, await store.WriteAsync([At(1, 0)])); // the DER's id is cached now

        // The database goes back to before that DER (as after a restore, or commits a killed server had not written).
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("DELETE FROM readings; DELETE FROM ders;", connection);
            await command.ExecuteNonQueryAsync();
        }

        Assert.Equal(1, await store.WriteAsync([At(2, 1000)]));
        Assert.Equal(1, await store.CountAsync());
        Assert.Single(await store.ListDersAsync());
    }
}
