namespace Wattstream.Hub.Resume;

/// <summary>
/// What a history read found, and whether that is known to be all of it: a log that holds the whole range (cluster
/// mode's stream) says so even when nothing matched; a store that keeps what it happened to get cannot.
/// </summary>
public sealed record HistoryRange(IReadOnlyList<HubEvent> Events, bool Complete);
