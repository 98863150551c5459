namespace Wattstream.Storage;

/// <summary>A run of readings lost for one reason: how many, and the readings' own times (epoch ms) from first to last.</summary>
public sealed record StorageLoss(string Reason, long Count, DateTimeOffset From, DateTimeOffset To);

/// <summary>
/// Readings the history writer lost, by reason (<c>queue_full</c>: the queue dropped its oldest while the store was behind or
/// away; <c>shutdown</c>: abandoned when the store was still away at the end of <c>Storage:ShutdownGrace</c>), and the episode
/// in progress, so that a loss is said once, with its count and time range, and not once per reading.
/// </summary>
public sealed class StorageLosses
{
    public const string QueueFull = "queue_full";
    public const string Shutdown = "shutdown";

    private readonly Lock _gate = new();
    private long _queueFull;
    private long _shutdown;
    private long _episodeCount;
    private long _episodeFrom = long.MaxValue;
    private long _episodeTo = long.MinValue;
    private long _countAtLastCheck;
    private bool _announced;

    public long QueueFullCount => Interlocked.Read(ref _queueFull);

    public long ShutdownCount => Interlocked.Read(ref _shutdown);

    public long Total => QueueFullCount + ShutdownCount;

    /// <summary>The last episode that ended, for <c>GET /api/storage</c>.</summary>
    public StorageLoss? Last { get; private set; }

    /// <summary>The queue dropped a reading taken at <paramref name="timestamp"/> (called under the hub's publish lock: cheap).</summary>
    public void QueueDropped(long timestamp)
    {
        lock (_gate)
        {
            _queueFull++;
            _episodeCount++;
            _episodeFrom = Math.Min(_episodeFrom, timestamp);
            _episodeTo = Math.Max(_episodeTo, timestamp);
        }
    }

    /// <summary>True the first time an episode is seen: the writer says the queue started dropping.</summary>
    public bool ShouldAnnounce()
    {
        if (Interlocked.Read(ref _episodeCount) == 0)
        {
            return false; // no episode: no lock, after every batch
        }

        lock (_gate)
        {
            if (_episodeCount == 0 || _announced)
            {
                return false;
            }

            _announced = true;
            return true;
        }
    }

    /// <summary>
    /// Called after each committed batch: the episode ends when no reading was dropped since the previous call (the writer
    /// caught up); returns it then, once.
    /// </summary>
    public StorageLoss? EndedEpisode()
    {
        if (Interlocked.Read(ref _episodeCount) == 0)
        {
            return null; // no episode (and the last check's count was reset with it)
        }

        lock (_gate)
        {
            if (_episodeCount == 0 || _episodeCount != _countAtLastCheck)
            {
                _countAtLastCheck = _episodeCount;
                return null;
            }

            var ended = new StorageLoss(QueueFull, _episodeCount, DateTimeOffset.FromUnixTimeMilliseconds(_episodeFrom), DateTimeOffset.FromUnixTimeMilliseconds(_episodeTo));
            Last = ended;
            _episodeCount = 0;
            _countAtLastCheck = 0;
            _episodeFrom = long.MaxValue;
            _episodeTo = long.MinValue;
            _announced = false;
            return ended;
        }
    }

    /// <summary>
    /// At shutdown: closes the queue's open episode, adding the readings (their times) the writer abandons because the store
    /// is still away (none when it stopped cleanly). Returns both as one loss, null when nothing was lost.
    /// </summary>
    public StorageLoss? CloseAtShutdown(IReadOnlyCollection<long> abandoned)
    {
        ArgumentNullException.ThrowIfNull(abandoned);
        lock (_gate)
        {
            var count = _episodeCount + abandoned.Count;
            if (count == 0)
            {
                return null;
            }

            Interlocked.Add(ref _shutdown, abandoned.Count);
            var from = abandoned.Count > 0 ? Math.Min(_episodeFrom, abandoned.Min()) : _episodeFrom;
            var to = abandoned.Count > 0 ? Math.Max(_episodeTo, abandoned.Max()) : _episodeTo;
            Last = new StorageLoss(abandoned.Count > 0 ? Shutdown : QueueFull, count, DateTimeOffset.FromUnixTimeMilliseconds(from), DateTimeOffset.FromUnixTimeMilliseconds(to));
            _episodeCount = 0;
            _episodeFrom = long.MaxValue;
            _episodeTo = long.MinValue;
            return Last;
        }
    }
}
