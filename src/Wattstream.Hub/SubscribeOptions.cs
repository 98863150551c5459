namespace Wattstream.Hub;

public sealed record SubscribeOptions
{
    /// <summary>Replay the retained events with an id greater than this before live ones.</summary>
    public long? ResumeAfter { get; init; }

    /// <summary>The subscriber's queue bound; null for <see cref="HubOptions.SubscriberQueueCapacity"/>.</summary>
    public int? QueueCapacity { get; init; }

    /// <summary>
    /// Start with the newest event of every matching DER (in the order the hub first saw them), then live ones: for
    /// clients that want the present state at connect, as the DER simulator's socket sends it. Ignored with <see cref="ResumeAfter"/>.
    /// </summary>
    public bool StartWithLastValues { get; init; }

    /// <summary>An extra filter applied before queueing (e.g. one DER type); must be cheap and must not block.</summary>
    public Func<HubEvent, bool>? Filter { get; init; }

    /// <summary>
    /// Called with each event the full queue drops (under the hub's publish lock: must be cheap and must not block), for a
    /// subscriber that must know which events it lost, not only how many (the history writer).
    /// </summary>
    public Action<HubEvent>? Dropped { get; init; }

    /// <summary>
    /// Not ended by <see cref="TelemetryHub.CompleteAll"/> (the streams' end when the host begins to stop): the subscriber
    /// ends it itself, by disposing it, once whatever publishes has stopped. For the history writer: every event given an
    /// id until then must reach it, because a clean stop notes the next id as if each one was stored.
    /// </summary>
    public bool EndedBySubscriber { get; init; }
}

/// <summary>What a resuming subscriber learns about the events it asked for.</summary>
public enum ResumeResult
{
    /// <summary>No resume was asked for.</summary>
    None,

    /// <summary>Every event after the id is replayed: there is no gap.</summary>
    Complete,

    /// <summary>
    /// The id is older than the ring holds (or from an unknown run): events between it and
    /// <see cref="HubSubscription.OldestReplayedId"/> are gone; what the ring still holds is replayed.
    /// </summary>
    TooOld,
}
