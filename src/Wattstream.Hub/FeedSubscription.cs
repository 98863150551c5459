using System.Threading.Channels;

namespace Wattstream.Hub;

/// <summary>
/// A subscriber's queue of a feed beside the hub's readings (alerts, site summaries): what it was given at the start
/// (a replay, or the present state), then what the feed offers and its filter admits. A reader that falls behind
/// loses the oldest items (counted), and never slows the feed. Dispose to stop.
/// </summary>
public sealed class FeedSubscription<T> : IEventReader<T>
{
    private readonly Action<FeedSubscription<T>> _unsubscribe;
    private readonly Func<T, bool>? _filter;
    private readonly Queue<T> _first;
    private readonly Channel<T> _queue;
    private long _dropped;
    private int _firstRemaining;

    public FeedSubscription(Action<FeedSubscription<T>> unsubscribe, Func<T, bool>? filter, int capacity, IEnumerable<T> first)
    {
        ArgumentNullException.ThrowIfNull(unsubscribe);
        _unsubscribe = unsubscribe;
        _filter = filter;
        _first = new Queue<T>(first ?? []);
        Replayed = _first.Count;
        _firstRemaining = _first.Count;
        _queue = Channel.CreateBounded<T>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>How many items came before the live ones.</summary>
    public int Replayed { get; }

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Items given at the start not yet read.</summary>
    public int SnapshotRemaining => Volatile.Read(ref _firstRemaining);

    /// <summary>Queues <paramref name="item"/> when the filter admits it; never waits.</summary>
    public void Offer(T item)
    {
        if (_filter is null || _filter(item))
        {
            _queue.Writer.TryWrite(item);
        }
    }

    /// <summary>Ends the subscription from the feed's side (shutdown): the reader sees the end after what is queued.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _first.Count > 0 ? ValueTask.FromResult(true) : _queue.Reader.WaitToReadAsync(cancellationToken);

    public bool TryRead(out T item)
    {
        if (_first.TryDequeue(out item!))
        {
            Volatile.Write(ref _firstRemaining, _first.Count);
            return true;
        }

        return _queue.Reader.TryRead(out item!);
    }

    public void Dispose()
    {
        _unsubscribe(this);
        Complete();
    }
}

/// <summary>
/// The subscribers of such a feed: joining, leaving, offering an item to all, ending all. The feed's owner offers under
/// its own lock when it must keep its state and its subscribers in step (a replay and the live items that follow it).
/// </summary>
public sealed class FeedSubscribers<T>
{
    private readonly Lock _gate = new();
    // A set, not an array copied on every join and leave (a reconnect burst is thousands of changes).
    private readonly HashSet<FeedSubscription<T>> _all = [];

    /// <summary>A new subscriber that first gets <paramref name="first"/>, then what <paramref name="filter"/> admits.</summary>
    public FeedSubscription<T> Add(Func<T, bool>? filter, int capacity, IEnumerable<T> first)
    {
        var subscription = new FeedSubscription<T>(Remove, filter, capacity, first);
        lock (_gate)
        {
            _all.Add(subscription);
        }

        return subscription;
    }

    public void Offer(T item)
    {
        lock (_gate)
        {
            foreach (var subscription in _all)
            {
                subscription.Offer(item);
            }
        }
    }

    /// <summary>Ends every subscription (shutdown): readers see the end after what is queued.</summary>
    public void CompleteAll()
    {
        FeedSubscription<T>[] all;
        lock (_gate)
        {
            all = [.. _all];
        }

        foreach (var s in all)
        {
            s.Complete();
        }
    }

    private void Remove(FeedSubscription<T> subscription)
    {
        lock (_gate)
        {
            _all.Remove(subscription);
        }
    }
}
