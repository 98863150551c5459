using System.Threading.Channels;

namespace Wattstream.Hub;

/// <summary>
/// The one subscriber queue of every feed (readings, statuses, alerts, summaries): what the subscriber is given at the
/// start (a replay, the present state) waits outside the bound and is never lost; then a bounded queue of what the feed
/// offers and the filter admits, which drops its oldest item when full, so a slow reader loses samples (counted) and
/// never holds up the publisher or anyone else. The feed offers under its own lock (one writer at a time); dispose to
/// unsubscribe.
/// </summary>
public class DropOldestQueue<T> : IEventReader<T>
    where T : class
{
    private readonly Action<DropOldestQueue<T>>? _unsubscribe;
    private readonly Func<T, bool>? _filter;
    private readonly Channel<T> _queue;
    private T[] _first = [];
    private int _firstIndex;
    private long _dropped;
    private IDropWatcher? _dropWatcher;
    private int _disposed;

    public DropOldestQueue(int capacity, Func<T, bool>? filter = null, Action<DropOldestQueue<T>>? unsubscribe = null, Action<T>? dropped = null)
    {
        _unsubscribe = unsubscribe;
        _filter = filter;
        _queue = Channel.CreateBounded<T>(
            new BoundedChannelOptions(capacity)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
                SingleWriter = true, // every feed offers under its publish lock
                AllowSynchronousContinuations = false, // the publisher never runs a subscriber's code
            },
            item =>
            {
                Interlocked.Increment(ref _dropped);
                Volatile.Read(ref _dropWatcher)?.ItemDropped();
                dropped?.Invoke(item);
            });
    }

    /// <summary>Items this subscriber lost because its queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void WatchDrops(IDropWatcher watcher) => Volatile.Write(ref _dropWatcher, watcher);

    /// <summary>Items given at the start (a replay, the present state) not yet read.</summary>
    public int SnapshotRemaining => Volatile.Read(ref _first).Length - Volatile.Read(ref _firstIndex);

    /// <summary>How many items were given at the start.</summary>
    public int Replayed => Volatile.Read(ref _first).Length;

    /// <summary>Items waiting to be read.</summary>
    public int Backlog => _queue.Reader.Count + SnapshotRemaining;

    public bool IsCompleted => _queue.Reader.Completion.IsCompleted;

    /// <summary>How a resume went: whether the feed's ring held everything after the client's id.</summary>
    public ResumeResult Resume { get; private set; }

    /// <summary>The id of the first replayed item, when resuming.</summary>
    public long? OldestReplayedId { get; private set; }

    /// <summary>
    /// When resuming, the id this queue's items follow on from: the item just before the first replayed one, or the
    /// newest item at the time of subscribing when nothing was replayed.
    /// </summary>
    public long? ResumedFromId { get; private set; }

    /// <summary>Sets a resume's replay (before the first read): what the ring held after the client's id.</summary>
    public void SetReplay(T[] replay, ResumeResult resume, long newestId, Func<T, long> idOf)
    {
        ArgumentNullException.ThrowIfNull(replay);
        ArgumentNullException.ThrowIfNull(idOf);
        SetFirst(replay);
        Resume = resume;
        OldestReplayedId = replay.Length > 0 ? idOf(replay[0]) : null;
        ResumedFromId = replay.Length > 0 ? idOf(replay[0]) - 1 : newestId;
    }

    /// <summary>Sets what comes before the live items; only before the first read (a stream is assembled first).</summary>
    public void SetFirst(T[] first)
    {
        ArgumentNullException.ThrowIfNull(first);
        ThrowIfRead();
        Volatile.Write(ref _first, first);
    }

    /// <summary>Puts <paramref name="older"/> (read back from a store) before what comes first; only before the first read.</summary>
    public void PrependFirst(IReadOnlyList<T> older)
    {
        ArgumentNullException.ThrowIfNull(older);
        ThrowIfRead();
        if (older.Count > 0)
        {
            Volatile.Write(ref _first, [.. older, .. _first]);
        }
    }

    /// <summary>Queues <paramref name="item"/> when the filter admits it; never waits. The feed calls it under its lock.</summary>
    public void Offer(T item)
    {
        if (_filter is null || _filter(item))
        {
            _queue.Writer.TryWrite(item);
        }
    }

    /// <summary>Ends the queue from the feed's side (shutdown): the reader sees the end after what is queued.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>
    /// Waits until an item can be read; false once the queue is disposed or completed and drained. Pass no token on hot
    /// paths (dispose to cancel instead): a cancellable wait allocates.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _firstIndex < _first.Length ? new ValueTask<bool>(true) : _queue.Reader.WaitToReadAsync(cancellationToken);

    public bool TryRead(out T item)
    {
        if (_firstIndex < _first.Length)
        {
            item = _first[_firstIndex];
            _first[_firstIndex] = null!; // read items are not kept alive by a long-lived subscriber
            Volatile.Write(ref _firstIndex, _firstIndex + 1);
            return true;
        }

        return _queue.Reader.TryRead(out item!);
    }

    /// <summary>All items as they come, the first ones first; ends when the queue is disposed or completed.</summary>
    public async IAsyncEnumerable<T> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryRead(out var item))
            {
                yield return item;
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _unsubscribe?.Invoke(this);
            Complete();
        }

        GC.SuppressFinalize(this);
    }

    private void ThrowIfRead()
    {
        if (_firstIndex != 0)
        {
            throw new InvalidOperationException("What comes first can only be set before the first read.");
        }
    }
}
