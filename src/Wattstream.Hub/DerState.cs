using Wattstream.Telemetry;

namespace Wattstream.Hub;

/// <summary>
/// What the hub keeps of one DER: its address and type, its last value and observed interval, its recent timestamps
/// (<see cref="DuplicateWindow"/>) and the subscriptions its events go to.
/// </summary>
/// <remarks>Not thread-safe: the hub uses it under its publish lock.</remarks>
internal sealed class DerState
{
    // Mutable on purpose: Remember updates the window in place.
    private DuplicateWindow _recent;
    private HubSubscription[] _matching = [];
    private int _matchingVersion = -1;

    public DerState(DerAddress address, DerType type, int dedupWindow)
    {
        Address = address;
        Type = type;
        _recent = new DuplicateWindow(dedupWindow);
    }

    public DerAddress Address { get; }

    public DerType Type { get; }

    /// <summary>The time between the DER's last two in-order readings.</summary>
    public TimeSpan? Interval { get; private set; }

    /// <summary>The newest accepted event by reading time.</summary>
    public HubEvent? Last { get; private set; }

    /// <summary>False when the timestamp was seen within the window (a duplicate).</summary>
    public bool Remember(long timestamp) => _recent.Remember(timestamp);

    /// <summary>
    /// Makes the event the DER's last value unless it is older than the current one (then false: out of order), and marks
    /// it <see cref="HubEvent.WasNewest"/> if it is.
    /// </summary>
    public bool TakeIfNewest(HubEvent hubEvent)
    {
        var timestamp = hubEvent.Reading.Timestamp;
        if (Last is not null && timestamp < Last.Reading.Timestamp)
        {
            return false;
        }

        Interval = Last is null ? null : TimeSpan.FromMilliseconds(timestamp - Last.Reading.Timestamp);
        Last = hubEvent;
        hubEvent.WasNewest = true;
        return true;
    }

    /// <summary>
    /// The subscriptions this DER's events go to, taken from the index again only when the set of subscriptions changed
    /// (<paramref name="version"/>) since the last time.
    /// </summary>
    public HubSubscription[] MatchingSubscriptions(SubscriptionIndex all, int version)
    {
        if (_matchingVersion != version)
        {
            _matching = all.Match(Address.Subject);
            _matchingVersion = version;
        }

        return _matching;
    }
}
