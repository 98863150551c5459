using Wattstream.Hub;
using Wattstream.Hub.Resume;

namespace Wattstream.Streaming.Resume;

/// <summary>
/// A client's stream of readings: what it missed (from stored history), then the hub subscription (its replay from the
/// ring, then live events). Dispose to unsubscribe.
/// </summary>
public sealed class ReadingStream : IEventReader<HubEvent>
{
    private readonly IReadOnlyList<HubEvent> _fromHistory;
    private int _next;

    internal ReadingStream(HubSubscription subscription, IReadOnlyList<HubEvent> fromHistory, ResumeOutcome outcome, ResumeGap? gap)
    {
        Subscription = subscription;
        _fromHistory = fromHistory;
        Outcome = outcome;
        Gap = gap;
    }

    public HubSubscription Subscription { get; }

    public ResumeOutcome Outcome { get; }

    /// <summary>Set when <see cref="Outcome"/> is <see cref="ResumeOutcome.Gap"/>.</summary>
    public ResumeGap? Gap { get; }

    /// <summary>How many events come from stored history before the ring and live ones.</summary>
    public int FromHistory => _fromHistory.Count;

    public long Dropped => Subscription.Dropped;

    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _next < _fromHistory.Count ? new ValueTask<bool>(true) : Subscription.WaitToReadAsync(cancellationToken);

    public bool TryRead(out HubEvent item)
    {
        if (_next < _fromHistory.Count)
        {
            item = _fromHistory[_next++];
            return true;
        }

        return Subscription.TryRead(out item);
    }

    public void Dispose() => Subscription.Dispose();
}
