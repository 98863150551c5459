using Microsoft.Extensions.Logging;

namespace Wattstream.Storage;

/// <summary>
/// Whether the history store takes writes: failing since when and with what error, the task a durable push waits on
/// to stop waiting, and the operator's log lines (once when writes start failing, then at most once a minute, and
/// once when the store is back).
/// </summary>
internal sealed class StoreWriteHealth(string store, StorageOptions options, TimeProvider time, ILogger logger)
{
    private long _failingSinceMs; // 0 while writes succeed
    private TaskCompletionSource _failing = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _failureLoggedMs;
    private string? _lastError;

    /// <summary>True while the store is known to be away: the last write failed and none succeeded since.</summary>
    public bool IsFailing => Interlocked.Read(ref _failingSinceMs) != 0;

    /// <summary>Completes when the store is, or becomes, known to be away.</summary>
    public Task Failing => Volatile.Read(ref _failing).Task;

    /// <summary>Since when writes fail; null while they succeed.</summary>
    public DateTimeOffset? FailingSince => Interlocked.Read(ref _failingSinceMs) is var since and not 0 ? DateTimeOffset.FromUnixTimeMilliseconds(since) : null;

    /// <summary>The last write's error; null once a write succeeded.</summary>
    public string? LastError => _lastError;

    // Said once when writes start failing, then at most once a minute while they go on failing (not once per retry).
    public void Failed(int count, string error, long queued)
    {
        _lastError = error;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (Interlocked.CompareExchange(ref _failingSinceMs, now, 0) == 0)
        {
            Volatile.Read(ref _failing).TrySetResult();
            _failureLoggedMs = now;
            logger.LogWarning(
                "Writing {Count} readings to {Store} failed: {Error}; retrying every {Retry}, readings queue meanwhile (at most Storage:QueueCapacity={Capacity}, then the oldest are dropped); durable pushes are refused until it is back",
                count, store, error, options.RetryInterval, options.QueueCapacity);
        }
        else if (now - _failureLoggedMs >= 60_000)
        {
            _failureLoggedMs = now;
            logger.LogWarning("{Store} still failing since {Since:O}: {Error}; {Queued} readings queued", store, DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _failingSinceMs)), error, queued);
        }
    }

    public void Succeeded(long queued)
    {
        _lastError = null;
        var since = Interlocked.Read(ref _failingSinceMs);
        if (since != 0)
        {
            Interlocked.Exchange(ref _failing, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            Interlocked.Exchange(ref _failingSinceMs, 0);
            logger.LogWarning("{Store} is back after {Seconds:0.#} s; {Queued} readings still queued", store, (time.GetUtcNow().ToUnixTimeMilliseconds() - since) / 1000.0, queued);
        }
    }
}
