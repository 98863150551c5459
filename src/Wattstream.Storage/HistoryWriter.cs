using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Storage;

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
    private readonly CancellationTokenSource _abandon = new();
    private TaskCompletionSource _flushNow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DurableReadings _durable = new(storageOptions.Value.DurableReserve);
    private readonly StorageLosses _losses = new();
    private readonly StoreWriteHealth _health = new(store.Kind, storageOptions.Value, time, logger);
    private readonly HistoryBatchStats _stats = new();
    private List<StoredReading>? _abandoned;
    private long _committedThrough;

    public IReadingStore Store => store;

    /// <summary>Readings of durable pushes waiting for the store, each tracked until it is committed.</summary>
    public DurableReadings Durable => _durable;

    /// <summary>
    /// The newest id of the hub's epoch that the store has committed (0 before any): a clean stop notes the next id as the
    /// place to go on from only when every id before it was stored (<see cref="StoreEpoch"/>).
    /// </summary>
    public long CommittedThrough => Interlocked.Read(ref _committedThrough);

    /// <summary>True while the store is known to be away: the last write failed and none succeeded since.</summary>
    public bool IsFailing => _health.IsFailing;

    /// <summary>Completes when the store is, or becomes, known to be away (a durable push then stops waiting for it).</summary>
    public Task Failing => _health.Failing;

    public StorageStatus Status
    {
        get
        {
            var failingSince = _health.FailingSince;
            return new(
                store.Kind,
                _subscription?.Backlog ?? 0,
                _stats.Written,
                _stats.Duplicates,
                _losses.Total,
                _stats.Batches,
                _stats.LagSeconds,
                _stats.LastBatchMilliseconds,
                _health.LastError,
                failingSince is null ? "writing" : "failing",
                failingSince,
                options.QueueCapacity,
                _durable.Pending,
                _durable.Reserve,
                new Dictionary<string, long> { [StorageLosses.QueueFull] = _losses.QueueFullCount, [StorageLosses.Shutdown] = _losses.ShutdownCount },
                _losses.Last);
        }
    }

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await store.MigrateAsync(cancellationToken);
        // Ended by StopAsync, not when the host's stop begins and the streams end (hub.CompleteAll at ApplicationStopping):
        // the sources stop after that, and what they publish meanwhile is given ids that a clean stop counts as stored.
        _subscription ??= hub.Subscribe(SubjectPattern.All, new SubscribeOptions { QueueCapacity = options.QueueCapacity, ResumeAfter = 0, Dropped = OnDropped, EndedBySubscriber = true });
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

        // Ends when the subscription completes (StopAsync disposes it, after the sources stopped): everything queued is drained first.
        while (await WaitForWorkAsync(subscription))
        {
            // Let a batch fill for up to the flush interval, unless it is already full.
            if (subscription.Backlog < options.BatchSize && !stoppingToken.IsCancellationRequested)
            {
                // …or until someone waits for a reading to be stored (a durable push).
                await Task.WhenAny(Task.Delay(options.FlushInterval, time, stoppingToken), Volatile.Read(ref _flushNow).Task); // never throws: it returns the task that ended
            }

            if (Volatile.Read(ref _flushNow).Task.IsCompleted)
            {
                Interlocked.Exchange(ref _flushNow, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }

            while (subscription.TryRead(out var e))
            {
                batch.Add(new StoredReading(new EventPosition(epoch, e.Id), e.Reading));
                if (batch.Count >= options.BatchSize)
                {
                    _durable.TakeInto(batch, drained: false);
                    if (!await FlushAsync(batch))
                    {
                        return;
                    }
                }
            }

            _durable.TakeInto(batch, drained: true);
            if (!await FlushAsync(batch))
            {
                return;
            }
        }

        _durable.TakeInto(batch, drained: true);
        await FlushAsync(batch);
    }

    // Something to read, or a durable push asks for a flush (its duplicates are written again even when nothing new comes);
    // false once the subscription is completed and drained.
    private async ValueTask<bool> WaitForWorkAsync(HubSubscription subscription)
    {
        var ready = subscription.WaitToReadAsync(CancellationToken.None);
        if (ready.IsCompleted)
        {
            return await ready;
        }

        var readyTask = ready.AsTask();
        await Task.WhenAny(readyTask, Volatile.Read(ref _flushNow).Task);
        return !readyTask.IsCompleted || await readyTask;
    }

    // The full queue drops its oldest event (under the hub's publish lock): a durable push's reading is held to be written
    // all the same; any other is lost, and counted.
    private void OnDropped(HubEvent e)
    {
        if (_durable.Pending > 0 && _durable.TryHold(new StoredReading(new EventPosition(hub.Epoch, e.Id), e.Reading)))
        {
            return;
        }

        _losses.QueueDropped(e.Reading.Timestamp);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose(); // no new readings; what is queued is still drained
        await _stopping.CancelAsync(); // stop waiting for batches to fill
        using var grace = new CancellationTokenSource(options.ShutdownGrace, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(grace.Token, cancellationToken);
        try
        {
            await _loop.WaitAsync(either.Token);
            if (_losses.CloseAtShutdown([]) is { } dropped)
            {
                SayDropped(dropped); // an episode the last batches did not get to close
            }

            return;
        }
        catch (OperationCanceledException)
        {
            // The store is still away: give up on what is left, and say what that is.
        }

        await _abandon.CancelAsync();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(5), time, CancellationToken.None); // quick now: the write in progress and the retry wait are cancelled
        }
        catch (TimeoutException)
        {
            // A write that ignores cancellation: what it holds is not counted below, the rest is.
        }

        var left = _abandoned ?? [];
        left.AddRange(_durable.Abandon());
        while (_loop.IsCompleted && _subscription?.TryRead(out var e) == true) // the queue has one reader: read it only once the loop is gone
        {
            left.Add(new StoredReading(new EventPosition(hub.Epoch, e.Id), e.Reading));
        }

        if (_losses.CloseAtShutdown(left.Select(r => r.Reading.Timestamp).ToArray()) is { } loss)
        {
            logger.LogError(
                "Stopping: {Store} was still away after Storage:ShutdownGrace ({Grace}); {Count} readings taken from {From:O} to {To:O} were not stored ({Abandoned} abandoned now, {Dropped} dropped by the full queue before); they are lost, and /api/storage and wattstream_storage_dropped_total count them",
                store.Kind, options.ShutdownGrace, loss.Count, loss.From, loss.To, left.Count, loss.Count - left.Count);
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _abandon.Dispose();
    }

    /// <summary>
    /// Tracks the readings of a durable push before they are published (<see cref="DurablePush.StoredAsync"/> completes once
    /// each is committed) and asks for a flush now rather than at the end of the flush interval. Null, with the reason, when
    /// the store is known to be away or the durable reserve is full: the push is then refused before anything is accepted.
    /// </summary>
    public DurablePush? TryBeginDurable(IReadOnlyList<Reading> readings, out string? refusal)
    {
        refusal = null;
        if (IsFailing)
        {
            refusal = $"{store.Kind} is not reachable ({_health.LastError}); readings are queued but a durable push cannot be confirmed now.";
            return null;
        }

        if (_durable.TryBegin(readings) is not { } push)
        {
            refusal = $"{_durable.Pending} readings of durable pushes already wait for {store.Kind} (at most {_durable.Reserve}, a tenth of Storage:QueueCapacity).";
            return null;
        }

        return push;
    }

    /// <summary>What a refused durable push is told to wait before it tries again (<c>Retry-After</c>, whole seconds).</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(options.RetryInterval.TotalSeconds));

    /// <summary>Asks the writer to write what it has now (a durable push waits).</summary>
    public void FlushSoon() => Volatile.Read(ref _flushNow).TrySetResult();

    // Writes a batch, retrying while the store is away; false when shutdown gave up on it (then it is kept in _abandoned).
    private async Task<bool> FlushAsync(List<StoredReading> batch)
    {
        if (batch.Count == 0)
        {
            return true;
        }

        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                var inserted = await store.WriteAsync(batch, _abandon.Token);
                _stats.Committed(batch.Count, inserted, Stopwatch.GetElapsedTime(started), time.GetUtcNow().ToUnixTimeMilliseconds() - batch[^1].Reading.Timestamp);
                _durable.Committed(batch);
                NoteCommitted(batch);
                Recovered();
                break;
            }
            catch (StoreDamagedException e) when (_stopping.IsCancellationRequested)
            {
                // A damaged store takes nothing more, however long the shutdown waits: the batch is abandoned, and said so.
                logger.LogError("Stopping: the store is damaged and takes no more readings: {Error}", e.Message);
                _abandoned = [.. batch];
                batch.Clear();
                return false;
            }
            catch (Exception) when (_abandon.IsCancellationRequested)
            {
                // Shutdown gave up on the store: the batch is counted as abandoned.
                _abandoned = [.. batch];
                batch.Clear();
                return false;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A store that is down holds the batch and retries; meanwhile the queue absorbs (and, past its bound, drops).
                Failed(batch.Count, e.Message);
                try
                {
                    await Task.Delay(options.RetryInterval, time, _abandon.Token);
                }
                catch (OperationCanceledException)
                {
                    _abandoned = [.. batch];
                    batch.Clear();
                    return false;
                }
            }
        }

        batch.Clear();
        return true;
    }

    private void NoteCommitted(List<StoredReading> batch)
    {
        var epoch = hub.Epoch;
        var newest = Interlocked.Read(ref _committedThrough);
        foreach (var r in batch)
        {
            if (r.Event.Epoch == epoch && r.Event.Sequence > newest)
            {
                newest = r.Event.Sequence;
            }
        }

        Interlocked.Exchange(ref _committedThrough, newest); // the loop's thread alone writes it
    }

    private void Failed(int count, string error)
    {
        _health.Failed(count, error, _subscription?.Backlog ?? 0);
        if (_losses.ShouldAnnounce())
        {
            logger.LogWarning("The history queue is full ({Capacity} readings): the oldest unsaved readings are being dropped until {Store} is back; the count follows", options.QueueCapacity, store.Kind);
        }
    }

    private void Recovered()
    {
        _health.Succeeded(_subscription?.Backlog ?? 0);
        if (_losses.ShouldAnnounce())
        {
            logger.LogWarning("The history queue is full ({Capacity} readings): the oldest unsaved readings are being dropped while {Store} falls behind; the count follows", options.QueueCapacity, store.Kind);
        }

        if (_losses.EndedEpisode() is { } loss)
        {
            SayDropped(loss);
        }
    }

    private void SayDropped(StorageLoss loss) =>
        logger.LogError(
            "The history queue dropped {Count} readings taken from {From:O} to {To:O} before {Store} could store them (queue_full); they are lost. Storage:QueueCapacity is {Capacity}",
            loss.Count, loss.From, loss.To, store.Kind, options.QueueCapacity);
}
