using Wattstream.Telemetry;

namespace Wattstream.Storage;

/// <summary>
/// A place readings are kept. Implementations: SQLite (embedded default) and PostgreSQL; both pass the same contract
/// tests. Writes ignore a reading whose (DER, timestamp) is already stored.
/// </summary>
public interface IReadingStore : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgres".</summary>
    string Kind { get; }

    /// <summary>Creates or migrates the schema to this version of the app.</summary>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores a batch in one transaction; returns how many were new.</summary>
    Task<int> WriteAsync(IReadOnlyList<StoredReading> batch, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<HistorySeries>> QueryAsync(HistoryQuery query, CancellationToken cancellationToken = default);

    /// <summary>Stored readings of the given DERs with an event after <paramref name="after"/> and before <paramref name="before"/>, in event order.</summary>
    Task<IReadOnlyList<StoredReading>> ReadEventsAsync(IReadOnlyList<DerAddress> ders, EventPosition after, EventPosition before, int limit, CancellationToken cancellationToken = default);

    /// <summary>Every DER the store has kept readings of (also those not heard from since a restart), with its newest reading's time.</summary>
    Task<IReadOnlyList<StoredDer>> ListDersAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes readings older than <paramref name="timestamp"/> (epoch ms); returns how many.</summary>
    Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default);

    Task<long> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>Why the store is damaged (corruption found), or null while it is sound. A damaged store writes nothing more.</summary>
    string? Damage { get; }

    /// <summary>The room the store takes as last measured (SQLite: the file, its WAL); null where it is not measured (PostgreSQL).</summary>
    StoreSize? Size { get; }

    /// <summary>Measures the room the store takes now; null where it is not measured (PostgreSQL).</summary>
    Task<StoreSize?> MeasureAsync(CancellationToken cancellationToken = default);

    /// <summary>The oldest and newest reading times; null while the store holds none.</summary>
    Task<StoredTimeRange?> TimeRangeAsync(CancellationToken cancellationToken = default);
}
