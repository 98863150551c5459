using System.Threading.Channels;

namespace Wattstream.Hub;

/// <summary>
/// One subscriber: a bounded queue that drops its oldest event when full, so a slow reader loses samples and
/// never holds up the publisher or anyone else. Read with <see cref="WaitToReadAsync"/> and <see cref="TryRead"/>;
/// dispose to unsubscribe.
/// </summary>
public sealed class HubSubscription : IEventReader<HubEvent>
{
    private readonly TelemetryHub _hub;
    private readonly Channel<HubEvent> _queue;
    private readonly Func<HubEvent, bool>? _filter;
    private HubEvent[] _replay = [];
    private int _replayIndex;
    private long _dropped;
    private int _disposed;

    internal HubSubscription(TelemetryHub hub, SubjectPattern pattern, int capacity, Func<HubEvent, bool>? filter, Action<HubEvent>? dropped = null)
    {
        _hub = hub;
        Pattern = pattern;
        _filter = filter;
        _queue = Channel.CreateBounded<HubEvent>(
            new BoundedChannelOptions(capacity)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
                SingleWriter = true, // the hub offers under its publish lock
                AllowSynchronousContinuations = false, // the publisher never runs a subscriber's code
            },
            e =>
            {
                Interlocked.Increment(ref _dropped);
                dropped?.Invoke(e);
            });
    }

    public SubjectPattern Pattern { get; }

    public ResumeResult Resume { get; private set; }

    /// <summary>The id of the first replayed event, when resuming.</summary>
    public long? OldestReplayedId { get; private set; }

    /// <summary>Events this subscriber lost because its queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Events waiting to be read.</summary>
    public int Backlog => _queue.Reader.Count + SnapshotRemaining;

    /// <summary>Replayed or initial events (last values, a resume) not yet read.</summary>
    public int SnapshotRemaining => Volatile.Read(ref _replay).Length - Volatile.Read(ref _replayIndex);

    public bool IsCompleted => _queue.Reader.Completion.IsCompleted;

    /// <summary>
    /// When resuming, the id this subscription's events follow on from: the event just before the first replayed one,
    /// or the newest event at the time of subscribing when nothing was replayed.
    /// </summary>
    public long? ResumedFromId { get; private set; }

    internal void SetReplay(HubEvent[] replay, ResumeResult resume, long newestId)
    {
        _replay = replay;
        Resume = resume;
        OldestReplayedId = replay.Length > 0 ? replay[0].Id : null;
        ResumedFromId = replay.Length > 0 ? replay[0].Id - 1 : newestId;
    }

    internal void SetInitial(HubEvent[] initial) => _replay = initial;

    /// <summary>
    /// Puts events older than the replay (read back from history) before it. Only before the first read: a resuming
    /// stream is assembled before it is handed to its transport.
    /// </summary>
    public void PrependHistory(IReadOnlyList<HubEvent> older)
    {
        ArgumentNullException.ThrowIfNull(older);
        if (_replayIndex != 0)
        {
            throw new InvalidOperationException("History can only be put before the replay before the first read.");
        }

        if (older.Count > 0)
        {
            _replay = [.. older, .. _replay];
        }
    }

    /// <summary>Called by the hub under its publish lock: never blocks.</summary>
    internal void Offer(HubEvent hubEvent)
    {
        if (_filter is null || _filter(hubEvent))
        {
            _queue.Writer.TryWrite(hubEvent);
        }
    }

    /// <summary>
    /// Waits until an event can be read; false once the subscription is disposed or the hub is stopping.
    /// Pass no token on hot paths (dispose the subscription to cancel instead): a cancellable wait allocates.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _replayIndex < _replay.Length ? new ValueTask<bool>(true) : _queue.Reader.WaitToReadAsync(cancellationToken);

    public bool TryRead(out HubEvent hubEvent)
    {
        if (_replayIndex < _replay.Length)
        {
            hubEvent = _replay[_replayIndex];
            _replay[_replayIndex] = null!;
            Volatile.Write(ref _replayIndex, _replayIndex + 1);
            return true;
        }

        return _queue.Reader.TryRead(out hubEvent!);
    }

    /// <summary>All events as they come, replay first; ends when the subscription is disposed.</summary>
    public async IAsyncEnumerable<HubEvent> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryRead(out var e))
            {
                yield return e;
            }
        }
    }

    internal void Complete() => _queue.Writer.TryComplete();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _hub.Unsubscribe(this);
            Complete();
        }
    }

    public override string ToString() => $"{Pattern} (backlog {Backlog}, dropped {Dropped})";
}
