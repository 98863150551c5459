namespace Wattstream.Hub.Resume;

/// <summary>
/// Events older than the replay ring, for resuming subscribers. The storage layer implements it; with no store
/// configured, <see cref="NoEventHistory"/> answers that nothing is kept.
/// </summary>
public interface IEventHistory
{
    /// <summary>Whether anything is kept at all (false: a resume older than the ring is a gap, without asking).</summary>
    bool IsAvailable { get; }

    /// <summary>
    /// The kept events whose subject matches <paramref name="pattern"/>, with ids after <paramref name="after"/> and before
    /// <paramref name="before"/>, oldest first, at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<HubEvent>> ReadAsync(SubjectPattern pattern, HubEventId after, HubEventId before, int limit, CancellationToken cancellationToken = default);

    /// <summary><see cref="ReadAsync"/>, saying whether the answer is known to be every matching event of the range.</summary>
    async Task<HistoryRange> ReadRangeAsync(SubjectPattern pattern, HubEventId after, HubEventId before, int limit, CancellationToken cancellationToken = default) =>
        new(await ReadAsync(pattern, after, before, limit, cancellationToken), Complete: false);
}

/// <summary>No history: resume reaches only as far back as the replay ring.</summary>
public sealed class NoEventHistory : IEventHistory
{
    public static NoEventHistory Instance { get; } = new();

    public bool IsAvailable => false;

    public Task<IReadOnlyList<HubEvent>> ReadAsync(SubjectPattern pattern, HubEventId after, HubEventId before, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<HubEvent>>([]);
}
