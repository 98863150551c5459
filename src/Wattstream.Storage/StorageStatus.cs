namespace Wattstream.Storage;

/// <summary>What <c>GET /api/storage</c> shows.</summary>
/// <param name="Dropped">Readings lost, every reason (<paramref name="DroppedByReason"/>).</param>
/// <param name="State"><c>writing</c>, or <c>failing</c> while writes fail (since <paramref name="FailingSince"/>; readings queue meanwhile).</param>
/// <param name="DurableWaiting">Readings of durable pushes not committed yet (at most <paramref name="DurableReserve"/>).</param>
/// <param name="LastLoss">The last run of lost readings: reason, count and the readings' time range.</param>
public sealed record StorageStatus(
    string Store,
    long Queued,
    long Written,
    long Duplicates,
    long Dropped,
    long Batches,
    double LagSeconds,
    double LastBatchMilliseconds,
    string? LastError,
    string State = "writing",
    DateTimeOffset? FailingSince = null,
    int QueueCapacity = 0,
    int DurableWaiting = 0,
    int DurableReserve = 0,
    IReadOnlyDictionary<string, long>? DroppedByReason = null,
    StorageLoss? LastLoss = null)
{
    /// <summary>What the store found wrong with itself (<see cref="IReadingStore.Damage"/>); null when nothing.</summary>
    public string? Damage { get; init; }

    /// <summary>The room the store takes and <c>Storage:MaxBytes</c>'s deletions (SQLite); absent where the store cannot say.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public StorageRoom? Size { get; init; }
}

/// <summary>The store's room (<see cref="StoreSize"/>) and what <see cref="RetentionService"/> deleted to keep it under its cap.</summary>
public sealed record StorageRoom(long UsedBytes, long? FileBytes, long? WalBytes, long? MaxBytes, long? DeletedForMaxBytes, DateTimeOffset? DeletedBefore);
