using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Streaming.Access;

namespace Wattstream.Streaming.Resume;

/// <summary>What a client asks of a reading stream, whatever its transport.</summary>
/// <param name="Pattern">The subjects it wants.</param>
/// <param name="Scope">What the caller may see; applied to live, replayed and stored events alike.</param>
/// <param name="Filter">What else the stream lets through (e.g. the DER types its format has a shape for).</param>
public sealed record ReadingStreamRequest(SubjectPattern Pattern, TelemetryScope Scope, Func<HubEvent, bool>? Filter = null)
{
    /// <summary>Resume after this id: the replay ring, then stored history, then live.</summary>
    public HubEventId? ResumeAfter { get; init; }

    /// <summary>Start with the newest event of every matching DER (ignored when resuming).</summary>
    public bool StartWithLastValues { get; init; }
}

/// <summary>How a resume went.</summary>
public enum ResumeOutcome
{
    /// <summary>No resume was asked for.</summary>
    None,

    /// <summary>Everything after the id follows (from the ring, or from history and then the ring).</summary>
    Complete,

    /// <summary>Some events after the id are gone: the stream continues from <see cref="ResumeGap.ContinuesAfter"/>.</summary>
    Gap,
}

/// <summary>What a client that resumed too late is told.</summary>
/// <param name="LastEventId">The id it sent.</param>
/// <param name="OldestAvailable">The oldest event still held in the ring, if any.</param>
/// <param name="ContinuesAfter">The id the stream continues after: a client that drops right after the notice resumes exactly from it.</param>
public sealed record ResumeGap(HubEventId LastEventId, HubEventId? OldestAvailable, HubEventId ContinuesAfter);
