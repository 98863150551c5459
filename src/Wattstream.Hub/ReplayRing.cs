namespace Wattstream.Hub;

/// <summary>
/// The most recent events by id, for resuming subscribers: a power-of-two array indexed by id, so adding is one store
/// and the oldest event is overwritten once the ring is full. The ids themselves are the hub's; the ring is told the
/// first id of the run and the last one given out when asked to replay.
/// </summary>
/// <remarks>
/// Not thread-safe: the hub uses it under its publish lock. A readonly struct over the array, so the hub holds it inline
/// and the publish path stores into the array as directly as without it; copies share the array.
/// </remarks>
internal readonly struct ReplayRing
{
    private readonly HubEvent?[] _slots;
    private readonly long _mask;

    /// <param name="capacity">Rounded up to a power of two, at least 16.</param>
    public ReplayRing(int capacity)
    {
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity));
        _slots = new HubEvent?[size];
        _mask = size - 1;
    }

    /// <summary>How many events the ring keeps.</summary>
    public int Capacity => _slots.Length;

    public void Add(HubEvent hubEvent) => _slots[hubEvent.Id & _mask] = hubEvent;

    /// <summary>The oldest id the ring can replay when <paramref name="lastId"/> is the newest given out in a run that began at <paramref name="firstId"/>.</summary>
    public long OldestId(long firstId, long lastId) => Math.Max(firstId, lastId - _slots.Length + 1);

    /// <summary>
    /// The events after <paramref name="after"/> up to <paramref name="lastId"/> that match, oldest first. An id from the
    /// future (another run) or from before what the ring holds is <see cref="ResumeResult.TooOld"/>, and all the ring
    /// still holds is replayed.
    /// </summary>
    public (HubEvent[] Replay, ResumeResult Resume) Replay(SubjectPattern pattern, long after, long firstId, long lastId, Func<HubEvent, bool>? filter)
    {
        var oldest = OldestId(firstId, lastId);
        var resume = ResumeResult.Complete;
        if (after > lastId || after < oldest - 1)
        {
            resume = ResumeResult.TooOld;
            after = oldest - 1;
        }

        var replay = new List<HubEvent>();
        for (var id = after + 1; id <= lastId; id++)
        {
            // In cluster mode ids are the log's sequences, which can skip (a message that was no reading): such a slot
            // holds nothing or an older event.
            var e = _slots[id & _mask];
            if (e is not null && e.Id == id && pattern.Matches(e.Subject) && (filter is null || filter(e)))
            {
                replay.Add(e);
            }
        }

        return (replay.ToArray(), resume);
    }
}
