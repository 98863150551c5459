namespace Wattstream.Hub;

/// <summary>A snapshot of the hub's counters.</summary>
public readonly record struct HubCounters(
    long Accepted,
    long Duplicates,
    long OutOfOrder,
    long LastEventId,
    int Subscribers,
    int Ders,
    long DroppedByUnsubscribed,
    long Rejected = 0);
