using Microsoft.Extensions.Logging.Abstractions;
using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Storage.Tests;

/// <summary>
/// The history writer and durable pushes when its queue overflows: a durable reading is tracked on its own, never lost with
/// "everything up to the last stored event". Against a real SQLite file whose writes are held back while the queue fills.
/// </summary>
public sealed class DurableWriterTests : IAsyncLifetime, IDisposable
{
    private static readonly DerAddress Kept = new("o", "s", "d", "kept");
    private static readonly DerAddress Again = new("o", "s", "d", "again");
    private static readonly DerAddress Flood = new("o", "s", "d", "flood");
    private const long T0 = 1_767_225_600_000;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wattstream-durable-{Guid.NewGuid():N}");
    private HeldStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new HeldStore(new Sqlite.SqliteReadingStore(Path.Combine(_directory, "history.db")));
        await _store.MigrateAsync();
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static Reading At(DerAddress der, long ms) => new(der, DerType.Meter, T0 + ms, null, [new Measurement(Quantity.ActivePower, ms, Unit.Watt)]);

    [Fact]
    public async Task A_durable_reading_the_full_queue_drops_is_still_stored_and_only_then_confirmed()
    {
        var hub = new TelemetryHub();
        using var writer = new HistoryWriter(_store, hub, Microsoft.Extensions.Options.Options.Create(new StorageOptions { QueueCapacity = 100, FlushInterval = TimeSpan.FromMilliseconds(20) }), TimeProvider.System, NullLogger<HistoryWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);
        _store.Hold();
        hub.Publish(At(Flood, 0));
        await _store.Entered.WaitAsync(TimeSpan.FromSeconds(30)); // the writer is inside a write that does not end yet

        // "again" is published as an ordinary reading and dropped by the full queue; a durable push sends it again later.
        hub.Publish(At(Again, 0));
        var kept = At(Kept, 0);
        using var push = writer.TryBeginDurable([kept], out var refusal);
        Assert.NotNull(push);
        Assert.Null(refusal);
        hub.Publish(kept);
        for (var i = 1; i <= 300; i++)
        {
            hub.Publish(At(Flood, i)); // 300 more through a queue of 100: "again", "kept" and flood 1–200 are dropped
        }

        var again = At(Again, 0);
        using var retry = writer.TryBeginDurable([again], out _);
        Assert.Equal(PublishOutcome.Duplicate, hub.Publish(again).Outcome);
        retry!.WriteAgain(again, new EventPosition(hub.Epoch, hub.Counters.LastEventId));
        writer.FlushSoon();

        Assert.False(push!.StoredAsync.IsCompleted);
        Assert.Equal(2, writer.Status.DurableWaiting);
        _store.Release();
        await push.StoredAsync.WaitAsync(TimeSpan.FromSeconds(30));
        await retry.StoredAsync.WaitAsync(TimeSpan.FromSeconds(30));

        var stored = await _store.ReadEventsAsync([Kept, Again], new EventPosition(0, 0), EventPosition.Max, 10);
        Assert.Equal(["again", "kept"], stored.Select(s => s.Reading.Der.Der).Order());
        Assert.Equal(0, writer.Status.DurableWaiting);
        // The queue dropped 202 events (302 offered after the one being written, 100 kept); all but "kept" (held aside) are lost.
        Assert.Equal(201, writer.Status.DroppedByReason![StorageLosses.QueueFull]);
        await Eventually.UntilAsync(() => writer.Status.LastLoss is not null, "the episode ended: said once with its count", TimeSpan.FromSeconds(30));
        Assert.Equal(new StorageLoss(StorageLosses.QueueFull, 201, DateTimeOffset.FromUnixTimeMilliseconds(T0), DateTimeOffset.FromUnixTimeMilliseconds(T0 + 200)), writer.Status.LastLoss);
        hub.CompleteAll();
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Durable_readings_past_the_reserve_are_refused_before_they_are_published()
    {
        var hub = new TelemetryHub();
        using var writer = new HistoryWriter(_store, hub, Microsoft.Extensions.Options.Options.Create(new StorageOptions { QueueCapacity = 50 }), TimeProvider.System, NullLogger<HistoryWriter>.Instance);

        using var first = writer.TryBeginDurable([At(Kept, 0), At(Kept, 1), At(Kept, 2), At(Kept, 3)], out _);
        using var second = writer.TryBeginDurable([At(Kept, 4), At(Kept, 5)], out var refusal); // reserve: a tenth of 50

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.Contains("a tenth of Storage:QueueCapacity", refusal, StringComparison.Ordinal);
        first!.Dispose(); // the push gave up: its readings no longer count
        using var third = writer.TryBeginDurable([At(Kept, 4), At(Kept, 5)], out _);
        Assert.NotNull(third);
    }

    /// <summary>A real store whose writes can be held back, as a store that takes its time (not yet failed) does.</summary>
    private sealed class HeldStore(IReadingStore inner) : IReadingStore
    {
        private TaskCompletionSource _gate = CompletedGate();
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        public string Kind => inner.Kind;

        public async Task<int> WriteAsync(IReadOnlyList<StoredReading> batch, CancellationToken cancellationToken = default)
        {
            _entered.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            return await inner.WriteAsync(batch, cancellationToken);
        }

        public Task MigrateAsync(CancellationToken cancellationToken = default) => inner.MigrateAsync(cancellationToken);

        public Task<IReadOnlyList<HistorySeries>> QueryAsync(HistoryQuery query, CancellationToken cancellationToken = default) => inner.QueryAsync(query, cancellationToken);

        public Task<IReadOnlyList<StoredReading>> ReadEventsAsync(IReadOnlyList<DerAddress> ders, EventPosition after, EventPosition before, int limit, CancellationToken cancellationToken = default) =>
            inner.ReadEventsAsync(ders, after, before, limit, cancellationToken);

        public Task<IReadOnlyList<StoredDer>> ListDersAsync(CancellationToken cancellationToken = default) => inner.ListDersAsync(cancellationToken);

        public Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default) => inner.DeleteOlderThanAsync(timestamp, cancellationToken);

        public Task<long> CountAsync(CancellationToken cancellationToken = default) => inner.CountAsync(cancellationToken);

        public string? Damage => inner.Damage;

        public StoreSize? Size => inner.Size;

        public Task<StoreSize?> MeasureAsync(CancellationToken cancellationToken = default) => inner.MeasureAsync(cancellationToken);

        public Task<StoredTimeRange?> TimeRangeAsync(CancellationToken cancellationToken = default) => inner.TimeRangeAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        private static TaskCompletionSource CompletedGate()
        {
            var gate = new TaskCompletionSource();
            gate.SetResult();
            return gate;
        }
    }
}
