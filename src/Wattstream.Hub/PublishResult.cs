namespace Wattstream.Hub;

public enum PublishOutcome
{
    /// <summary>New: it got an event id and went to the subscribers.</summary>
    Accepted,

    /// <summary>Accepted, but older than the DER's last value, which it did not replace.</summary>
    AcceptedOutOfOrder,

    /// <summary>The same (DER, timestamp) was accepted before: dropped.</summary>
    Duplicate,

    /// <summary>A new DER past one of the hub's limits (<see cref="PublishResult.Rejection"/> names it): dropped.</summary>
    Rejected,

    /// <summary>Cluster mode: handed to the log without waiting; it becomes an event when the log delivers it back.</summary>
    Forwarded,
}

/// <summary>
/// What became of one published reading. <see cref="Event"/> is the event when this hub accepted it; in cluster mode
/// the log accepts it, and <see cref="LoggedSequence"/> is its sequence there (its event id on every node).
/// </summary>
public readonly record struct PublishResult(PublishOutcome Outcome, HubEvent? Event, string? Rejection = null, long? LoggedSequence = null)
{
    public bool IsAccepted => Outcome is PublishOutcome.Accepted or PublishOutcome.AcceptedOutOfOrder;

    /// <summary>The accepted reading's event id within its epoch, however it was accepted.</summary>
    public long? Sequence => Event?.Id ?? LoggedSequence;
}
