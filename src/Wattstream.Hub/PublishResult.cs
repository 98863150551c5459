namespace Wattstream.Hub;

public enum PublishOutcome
{
    /// <summary>New: it got an event id and went to the subscribers.</summary>
    Accepted,

    /// <summary>Accepted, but older than the DER's last value, which it did not replace.</summary>
    AcceptedOutOfOrder,

    /// <summary>The same (DER, timestamp) was accepted before: dropped.</summary>
    Duplicate,
}

/// <summary>What became of one published reading; <see cref="Event"/> is null for a duplicate.</summary>
public readonly record struct PublishResult(PublishOutcome Outcome, HubEvent? Event)
{
    public bool IsAccepted => Outcome != PublishOutcome.Duplicate;
}
