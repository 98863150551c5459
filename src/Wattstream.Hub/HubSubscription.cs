namespace Wattstream.Hub;

/// <summary>
/// A subscriber of the hub's readings: the feeds' drop-oldest queue, with the subject pattern it matches and how its
/// resume went. Read with <see cref="DropOldestQueue{T}.WaitToReadAsync"/> and <see cref="DropOldestQueue{T}.TryRead"/>;
/// dispose to unsubscribe.
/// </summary>
public sealed class HubSubscription : DropOldestQueue<HubEvent>
{
    internal HubSubscription(TelemetryHub hub, SubjectPattern pattern, int capacity, Func<HubEvent, bool>? filter, Action<HubEvent>? dropped = null)
        : base(capacity, filter, s => hub.Unsubscribe((HubSubscription)s), dropped)
    {
        Pattern = pattern;
    }

    public SubjectPattern Pattern { get; }

    /// <summary>Left open by <see cref="TelemetryHub.CompleteAll"/>: ended by its subscriber (<see cref="SubscribeOptions.EndedBySubscriber"/>).</summary>
    public bool EndedBySubscriber { get; init; }

    internal void SetReplay(HubEvent[] replay, ResumeResult resume, long newestId) => SetReplay(replay, resume, newestId, e => e.Id);

    internal void SetInitial(HubEvent[] initial) => SetFirst(initial);

    /// <summary>Puts events older than the replay (read back from history) before it; only before the first read.</summary>
    public void PrependHistory(IReadOnlyList<HubEvent> older) => PrependFirst(older);

    public override string ToString() => $"{Pattern} (backlog {Backlog}, dropped {Dropped})";
}
