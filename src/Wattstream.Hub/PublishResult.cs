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
}

/// <summary>What became of one published reading; <see cref="Event"/> is null unless it was accepted.</summary>
public readonly record struct PublishResult(PublishOutcome Outcome, HubEvent? Event, string? Rejection = null)
{
    public bool IsAccepted => Outcome is PublishOutcome.Accepted or PublishOutcome.AcceptedOutOfOrder;
}
