using Wattstream.Hub;

namespace Wattstream.Streaming.Resume;

/// <summary>
/// A client's stream of readings as <see cref="ReadingStreams.OpenAsync"/> assembled it: the subscription yields what the
/// client missed (from stored history, then the replay ring), then live events. Dispose the subscription to end it.
/// </summary>
/// <param name="Subscription">The events, in order; the transport drains it.</param>
/// <param name="Outcome">How the resume went.</param>
/// <param name="Gap">Set when <paramref name="Outcome"/> is <see cref="ResumeOutcome.Gap"/>.</param>
/// <param name="FromHistory">How many of the first events come from stored history.</param>
public readonly record struct ReadingStream(HubSubscription Subscription, ResumeOutcome Outcome, ResumeGap? Gap, int FromHistory);
