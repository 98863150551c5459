namespace Wattstream.Hub.Feeds;

/// <summary>Makes the two kinds of <see cref="Feed{T}"/>.</summary>
public static class Feed
{
    /// <summary>A feed of state: one present item per <paramref name="keyOf"/>, in the order first published.</summary>
    public static Feed<T> OfState<T>(Func<T, object> keyOf)
        where T : class, IFeedItem
    {
        ArgumentNullException.ThrowIfNull(keyOf);
        return new Feed<T>(keyOf, 0);
    }

    /// <summary>A feed of events: the newest <paramref name="ringCapacity"/> are kept for resuming clients.</summary>
    public static Feed<T> OfEvents<T>(int ringCapacity)
        where T : class, IFeedItem
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ringCapacity, 1);
        return new Feed<T>(null, ringCapacity);
    }
}

/// <summary>
/// The engine of a feed beside the readings: its subscribers, and what a new subscriber gets first. A feed of state
/// (statuses, site summaries) keeps the present item per key and gives a new subscriber the present, then the changes;
/// a feed of events (alerts) keeps its newest items in a ring and replays those after a client's id (older ones come
/// from its store, through the streaming core's resume chain). Publishing never waits: each subscriber's queue drops its
/// oldest item when full.
/// </summary>
public sealed class Feed<T>
    where T : class, IFeedItem
{
    private readonly Lock _gate = new();
    // A set, not an array copied on every join and leave (a reconnect burst is thousands of changes).
    private readonly HashSet<DropOldestQueue<T>> _subscribers = [];
    private readonly Func<T, object>? _keyOf;
    private readonly OrderedDictionary<object, T> _present = [];
    private readonly T[] _ring;
    private int _ringStart;
    private int _ringCount;
    private long _lastId;

    internal Feed(Func<T, object>? keyOf, int ringCapacity)
    {
        _keyOf = keyOf;
        _ring = new T[ringCapacity];
    }

    /// <summary>Whether a client can resume after an id (a feed of events), rather than getting the present.</summary>
    public bool IsResumable => _keyOf is null;

    /// <summary>The newest id published (or learnt from the store at start).</summary>
    public long LastId
    {
        get
        {
            lock (_gate)
            {
                return _lastId;
            }
        }
    }

    /// <summary>Ids continue after <paramref name="id"/> (the newest one stored by an earlier run).</summary>
    public void ContinueAfter(long id)
    {
        lock (_gate)
        {
            _lastId = Math.Max(_lastId, id);
        }
    }

    /// <summary>
    /// Publishes <paramref name="item"/>: it becomes the present of its key (a feed of state) or the ring's newest (a
    /// feed of events), and, when <paramref name="announce"/>, every subscriber is offered it. Not announcing updates the
    /// present silently (a status's last-seen time moved): later subscribers get it, current ones are not told.
    /// </summary>
    public void Publish(T item, bool announce = true)
    {
        ArgumentNullException.ThrowIfNull(item);
        lock (_gate)
        {
            _lastId = Math.Max(_lastId, item.Id);
            if (_keyOf is not null)
            {
                _present[_keyOf(item)] = item;
            }
            else if (announce)
            {
                _ring[(_ringStart + _ringCount) % _ring.Length] = item;
                if (_ringCount < _ring.Length)
                {
                    _ringCount++;
                }
                else
                {
                    _ringStart = (_ringStart + 1) % _ring.Length;
                }
            }

            if (announce)
            {
                foreach (var subscriber in _subscribers)
                {
                    subscriber.Offer(item);
                }
            }
        }
    }

    /// <summary>The present item of <paramref name="key"/> (a feed of state).</summary>
    public T? Find(object key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_gate)
        {
            return _present.GetValueOrDefault(key);
        }
    }

    /// <summary>The present items <paramref name="filter"/> admits, in the order first published (a feed of state).</summary>
    public IReadOnlyList<T> Present(Func<T, bool>? filter = null)
    {
        lock (_gate)
        {
            return [.. _present.Values.Where(item => filter is null || filter(item))];
        }
    }

    /// <summary>
    /// A new subscriber of what <paramref name="filter"/> admits. A feed of state gives the present first. A feed of
    /// events gives the live items only, or, with <paramref name="resumeAfter"/>, first what its ring holds after that
    /// id (<see cref="DropOldestQueue{T}.Resume"/> says whether the ring held everything). Taken under the publish lock,
    /// so nothing falls between what comes first and the live items.
    /// </summary>
    public DropOldestQueue<T> Subscribe(Func<T, bool>? filter, int capacity, long? resumeAfter = null)
    {
        var subscription = new DropOldestQueue<T>(capacity, filter, Unsubscribe);
        lock (_gate)
        {
            if (_keyOf is not null)
            {
                subscription.SetFirst([.. _present.Values.Where(item => filter is null || filter(item))]);
            }
            else if (resumeAfter is { } after)
            {
                var oldest = _ringCount > 0 ? _ring[_ringStart].Id : _lastId + 1;
                var resume = after < oldest - 1 ? ResumeResult.TooOld : ResumeResult.Complete;
                var replay = new List<T>();
                for (var i = 0; i < _ringCount; i++)
                {
                    var item = _ring[(_ringStart + i) % _ring.Length];
                    if (item.Id > after && (filter is null || filter(item)))
                    {
                        replay.Add(item);
                    }
                }

                subscription.SetReplay([.. replay], resume, _lastId, item => item.Id);
            }

            _subscribers.Add(subscription);
        }

        return subscription;
    }

    /// <summary>Ends every subscription (shutdown): readers see the end after what is queued.</summary>
    public void CompleteAll()
    {
        DropOldestQueue<T>[] all;
        lock (_gate)
        {
            all = [.. _subscribers];
        }

        foreach (var subscriber in all)
        {
            subscriber.Complete();
        }
    }

    public int Subscribers
    {
        get
        {
            lock (_gate)
            {
                return _subscribers.Count;
            }
        }
    }

    private void Unsubscribe(DropOldestQueue<T> subscription)
    {
        lock (_gate)
        {
            _subscribers.Remove(subscription);
        }
    }
}
