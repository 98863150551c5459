using Microsoft.Data.Sqlite;
using Wattstream.Storage.Sqlite;
using Wattstream.Telemetry;

namespace Wattstream.Storage.Tests;

/// <summary>The online backup and the integrity check, on real SQLite files: the parts split out of the store.</summary>
public sealed class SqliteBackupTests : IDisposable
{
    private readonly string _folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"wattstream-backup-{Guid.NewGuid():N}")).FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_copy_taken_while_the_store_is_open_holds_what_was_committed_and_is_one_sound_file()
    {
        var source = Path.Combine(_folder, "wattstream.db");
        var destination = Path.Combine(_folder, "copy.db");
        await using (var store = new SqliteReadingStore(source))
        {
            await store.MigrateAsync();
            var der = new DerAddress("acme", "s1", "gw1", "m1");
            await store.WriteAsync([.. Enumerable.Range(1, 25).Select(i => new StoredReading(new EventPosition(1, i), new Reading(der, DerType.Meter, 1_767_225_600_000 + i * 1000, null, [new Measurement(Quantity.ActivePower, i, Unit.Watt)])))]);

            var bytes = SqliteBackup.Copy(source, destination); // the source is still open, in WAL mode

            Assert.Equal(new FileInfo(destination).Length, bytes);
        }

        Assert.False(File.Exists(destination + ".partial"));
        Assert.False(File.Exists(destination + "-wal")); // journal mode DELETE: the copy is the one file
        Assert.Empty(SqliteIntegrityCheck.Run(destination));
        await using var copy = new SqliteReadingStore(destination);
        Assert.Equal(25, await copy.CountAsync());
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_named_a_problem_and_not_copied()
    {
        var source = Path.Combine(_folder, "garbage.db");
        var destination = Path.Combine(_folder, "copy.db");
        File.WriteAllBytes(source, [.. Enumerable.Repeat((byte)0x5A, 8192)]);

        Assert.NotEmpty(SqliteIntegrityCheck.Run(source));
        Assert.ThrowsAny<Exception>(() => SqliteBackup.Copy(source, destination));
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(destination + ".partial"));
    }

    [Fact]
    public void The_summary_names_the_first_problem_and_how_many_more()
    {
        Assert.Equal("page 3: bad", SqliteIntegrityCheck.Summary(["page 3: bad"]));
        Assert.Equal("page 3: bad; and 2 more", SqliteIntegrityCheck.Summary(["page 3: bad", "page 4: bad", "page 5: bad"]));
    }
}
