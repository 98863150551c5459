namespace Wattstream.Storage;

/// <summary>
/// The store cannot be opened at start: its message is one line for the operator, naming the file, folder or host and
/// the setting, and what to do. <see cref="Transient"/> failures (the server is away, the file is locked) are worth
/// retrying for <c>Storage:StartTimeout</c>; the others are not.
/// </summary>
public sealed class StoreStartException(string message, bool transient = false, Exception? inner = null) : Exception(message, inner)
{
    public bool Transient { get; } = transient;
}

/// <summary>
/// The store's file is damaged (SQLite found corruption). The store writes nothing more into it; reads that meet the
/// damage fail with this.
/// </summary>
public sealed class StoreDamagedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A read ran past <c>Storage:QueryTimeout</c> and was stopped.</summary>
public sealed class StoreQueryTimeoutException(string message, Exception? inner = null) : TimeoutException(message, inner);

/// <summary>How much room a store takes.</summary>
/// <param name="UsedBytes">What the data takes (SQLite: the file's pages in use; freed pages are reused, not returned).</param>
/// <param name="FileBytes">The database file on disk (SQLite); null where the store does not know.</param>
/// <param name="WalBytes">The write-ahead log beside it (SQLite); null where there is none.</param>
public sealed record StoreSize(long UsedBytes, long? FileBytes, long? WalBytes);

/// <summary>The oldest and newest reading times the store holds (epoch ms).</summary>
public sealed record StoredTimeRange(long Oldest, long Newest);
