using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Storage.Tests;

/// <summary>The store's ledger of event-id epochs, against each real database.</summary>
public abstract class EventEpochsContract : IAsyncLifetime
{
    private const string Owner = "host:/var/lib/wattstream";

    protected IReadingStore Store { get; private set; } = null!;

    private SqlEventEpochs Epochs { get; set; } = null!;

    protected abstract Task<IReadingStore> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        Store = await CreateStoreAsync();
        await Store.MigrateAsync();
        Epochs = ((IDatabaseStore)Store).CreateEventEpochs();
        await Epochs.MigrateAsync();
    }

    public async Task DisposeAsync() => await Store.DisposeAsync();

    [Fact]
    public async Task A_new_store_starts_an_epoch_and_a_clean_stop_is_continued_at_its_next_sequence()
    {
        var first = await Epochs.BeginAsync(Owner, 1_000);
        await Epochs.EndAsync(first.Epoch, 42);
        var second = await Epochs.BeginAsync(Owner, 9_000);

        Assert.Equal(new EpochRun(1_000, 1, EpochStart.NewStore), first);
        Assert.Equal(new EpochRun(1_000, 42, EpochStart.Continued), second);
    }

    // As the host runs them: StoreEpoch's start, the writer's start and stop, the sources in between, StoreEpoch's stop.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_clean_stop_is_continued_only_when_history_stored_every_id_given(bool oneIdUnstored)
    {
        var hub = new TelemetryHub();
        var writer = new HistoryWriter(Store, hub, Microsoft.Extensions.Options.Options.Create(new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(20) }), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<HistoryWriter>.Instance);
        var epoch = new StoreEpoch(Epochs, Store, hub, Owner, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<StoreEpoch>.Instance, writer);
        await epoch.StartingAsync(CancellationToken.None);
        await writer.StartingAsync(CancellationToken.None);
        await writer.StartAsync(CancellationToken.None);
        var der = new DerAddress("o", "s", "d", "m");
        for (var i = 0; i < 5; i++)
        {
            hub.Publish(new Reading(der, DerType.Meter, 1_767_225_600_000 + (i * 1000L), null, [new Measurement(Quantity.ActivePower, i, Unit.Watt)]));
        }

        await writer.StopAsync(CancellationToken.None);
        if (oneIdUnstored)
        {
            hub.Publish(new Reading(der, DerType.Meter, 1_767_225_610_000, null, [new Measurement(Quantity.ActivePower, 9, Unit.Watt)])); // after the writer stopped
        }

        await epoch.StoppedAsync(CancellationToken.None);
        var next = await Epochs.BeginAsync(Owner, 9_999_999_999_999);

        Assert.Equal(5L, writer.CommittedThrough);
        Assert.Equal(oneIdUnstored ? EpochStart.AfterUncleanStop : EpochStart.Continued, next.Start);
        Assert.Equal(oneIdUnstored ? 1L : 6L, next.FirstSequence);
    }

    [Fact]
    public async Task A_run_that_never_noted_its_stop_is_followed_by_a_later_epoch_even_with_a_clock_behind()
    {
        var killed = await Epochs.BeginAsync(Owner, 5_000);
        var next = await Epochs.BeginAsync(Owner, 4_000);
        await Epochs.EndAsync(next.Epoch, 7);

        Assert.Equal(new EpochRun(5_001, 1, EpochStart.AfterUncleanStop), next);
        Assert.Equal(new EpochRun(5_001, 7, EpochStart.Continued), await Epochs.BeginAsync(Owner, 6_000)); // the killed one stays behind
        Assert.Equal(5_000, killed.Epoch);
    }

    [Fact]
    public async Task Hubs_of_different_data_directories_on_one_store_count_in_epochs_of_their_own()
    {
        var a = await Epochs.BeginAsync("host:/a", 1_000);
        var b = await Epochs.BeginAsync("host:/b", 1_000);
        await Epochs.EndAsync(a.Epoch, 10);
        await Epochs.EndAsync(b.Epoch, 20);

        Assert.NotEqual(a.Epoch, b.Epoch);
        Assert.Equal(new EpochRun(a.Epoch, 10, EpochStart.Continued), await Epochs.BeginAsync("host:/a", 2_000));
        Assert.Equal(new EpochRun(b.Epoch, 20, EpochStart.Continued), await Epochs.BeginAsync("host:/b", 2_000));
    }

    [Fact]
    public async Task A_new_epoch_sorts_after_every_epoch_the_readings_hold_and_holding_is_answered_per_position()
    {
        var der = new DerAddress("o", "s", "d", "m");
        await Store.WriteAsync([new StoredReading(new EventPosition(8_000, 5), new Reading(der, DerType.Meter, 1_767_225_600_000, null, [new Measurement(Quantity.ActivePower, 1, Unit.Watt)]))]);

        var run = await Epochs.BeginAsync(Owner, 1_000); // a clock far behind the stored events' epoch

        Assert.Equal(8_001, run.Epoch);
        Assert.True(await Epochs.HoldsAsync(8_000, 5));
        Assert.True(await Epochs.HoldsAsync(8_000, long.MaxValue));
        Assert.False(await Epochs.HoldsAsync(8_000, 4)); // nothing at or before it: retention took it, or it never was
        Assert.False(await Epochs.HoldsAsync(7_999, long.MaxValue)); // another store's epoch
    }
}

public sealed class SqliteEventEpochsTests : EventEpochsContract, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wattstream-epochs-{Guid.NewGuid():N}");

    protected override Task<IReadingStore> CreateStoreAsync() =>
        Task.FromResult<IReadingStore>(new Sqlite.SqliteReadingStore(Path.Combine(_directory, "history.db")));

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
public sealed class PostgresEventEpochsTests(PostgresCluster cluster) : EventEpochsContract
{
    protected override async Task<IReadingStore> CreateStoreAsync() => new Postgres.PostgresReadingStore(await cluster.CreateDatabaseAsync());
}
