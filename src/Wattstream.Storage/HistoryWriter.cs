using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wattstream.Hub;

namespace Wattstream.Storage;

/// <summary>What <c>GET /api/storage</c> shows.</summary>
public sealed record StorageStatus(string Store, long Queued, long Written, long Duplicates, long Dropped, long Batches, double LagSeconds, double LastBatchMilliseconds, string? LastError);

/// <summary>
/// Keeps every accepted reading: a hub subscriber with a deep queue of its own, written in batches. Live streaming never
/// waits for it; if the store falls behind by more than the queue holds, the oldest unsaved readings are dropped and
/// counted. At shutdown everything queued is written before the store closes.
/// </summary>
/// <remarks>
/// Not a <c>BackgroundService</c>: its loop must run even when the host stops before the loop was scheduled, so that
/// what is queued is written; a BackgroundService whose token is cancelled before its task starts never runs it.
/// </remarks>
/// <para>
/// It subscribes in <see cref="StartingAsync"/>, which every hosted service runs before any <c>StartAsync</c>: so the
/// writer is subscribed before any source or the simulator publishes, whatever order they were registered in.
/// </para>
public sealed class HistoryWriter(IReadingStore store, TelemetryHub hub, IOptions<StorageOptions> storageOptions, TimeProvider time, ILogger<HistoryWriter> logger)
    : IHostedLifecycleService, IDisposable
{
    private readonly StorageOptions options = storageOptions.Value;
    private readonly CancellationTokenSource _stopping = new();
    private HubSubscription? _subscription;
    private Task _loop = Task.CompletedTask;
    private readonly List<(long EventId, TaskCompletionSource Stored)> _waiters = [];
    private TaskCompletionSource _flushNow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _storedThrough;
    private long _written;
    private long _duplicates;
    private long _batches;
    private long _lagMs;
    private double _lastBatchMs;
    private string? _lastError;

    public IReadingStore Store => store;

    public StorageStatus Status => new(
        store.Kind,
        _subscription?.Backlog ?? 0,
        Interlocked.Read(ref _written),
        Interlocked.Read(ref _duplicates),
        _subscription?.Dropped ?? 0,
        Interlocked.Read(ref _batches),
        Interlocked.Read(ref _lagMs) / 1000.0,
        Volatile.Read(ref _lastBatchMs),
        _lastError);

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await store.MigrateAsync(cancellationToken);
        _subscription ??= hub.Subscribe(SubjectPattern.All, new SubscribeOptions { QueueCapacity = options.QueueCapacity, ResumeAfter = 0 });
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_subscription is null)
        {
            await StartingAsync(cancellationToken); // used outside a host, which runs StartingAsync first
        }

        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var subscription = _subscription!;
        var batch = new List<StoredReading>(options.BatchSize);
        var epoch = hub.Epoch;

        // Ends when the subscription completes (hub shutdown): everything queued is drained first.
        while (await subscription.WaitToReadAsync(CancellationToken.None))
        {
            // Let a batch fill for up to the flush interval, unless it is already full.
            if (subscription.Backlog < options.BatchSize && !stoppingToken.IsCancellationRequested)
            {
                // …or until someone waits for a reading to be stored (a durable push).
                var flushNow = Volatile.Read(ref _flushNow);
                await Task.WhenAny(Task.Delay(options.FlushInterval, time, stoppingToken), flushNow.Task); // never throws: it returns the task that ended
                if (flushNow.Task.IsCompleted)
                {
                    Interlocked.Exchange(ref _flushNow, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                }
            }

            while (subscription.TryRead(out var e))
            {
                batch.Add(new StoredReading(new EventPosition(epoch, e.Id), e.Reading));
                if (batch.Count == options.BatchSize)
                {
                    await FlushAsync(batch);
                }
            }

            await FlushAsync(batch);
        }

        await FlushAsync(batch);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose(); // no new readings; what is queued is still drained
        await _stopping.CancelAsync(); // stop waiting for batches to fill
        await _loop.WaitAsync(cancellationToken);
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>
    /// Completes once the event <paramref name="eventId"/> of this run (and every one before it) is committed to the
    /// store; asks for a flush now rather than at the end of the flush interval.
    /// </summary>
    public Task WaitUntilStoredAsync(long eventId, CancellationToken cancellationToken = default)
    {
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            if (_storedThrough >= eventId)
            {
                return Task.CompletedTask;
            }

            _waiters.Add((eventId, stored));
        }

        Volatile.Read(ref _flushNow).TrySetResult();
        return stored.Task.WaitAsync(cancellationToken);
    }

    private void Stored(long throughEventId)
    {
        lock (_waiters)
        {
            _storedThrough = Math.Max(_storedThrough, throughEventId);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].EventId <= _storedThrough)
                {
                    _waiters[i].Stored.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private async Task FlushAsync(List<StoredReading> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                var inserted = await store.WriteAsync(batch, CancellationToken.None);
                Interlocked.Add(ref _written, inserted);
                Stored(batch[^1].Event.Sequence); // batches are in event order
                Interlocked.Add(ref _duplicates, batch.Count - inserted);
                Interlocked.Increment(ref _batches);
                Volatile.Write(ref _lastBatchMs, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Exchange(ref _lagMs, Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds() - batch[^1].Reading.Timestamp));
                _lastError = null;
                break;
            }
            catch (StoreDamagedException e) when (_stopping.IsCancellationRequested)
            {
                // A damaged store takes nothing more, however long the shutdown waits.
                logger.LogError("Stopping: {Count} readings were not stored, the store is damaged: {Error}", batch.Count, e.Message);
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A store that is down holds the batch and retries; meanwhile the queue absorbs (and, past its bound, drops).
                _lastError = e.Message;
                logger.LogWarning("Writing {Count} readings to {Store} failed: {Error}; retrying", batch.Count, store.Kind, e.Message);
                await Task.Delay(options.RetryInterval, time);
            }
        }

        batch.Clear();
    }
}
