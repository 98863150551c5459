using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Hub.Status;

namespace Wattstream.Storage;

/// <summary>The hub's view of the store: events older than the replay ring, for resuming clients.</summary>
/// <remarks>The DERs a pattern stands for are those the hub has seen and those the status board knows (from history).</remarks>
public sealed class StoredEventHistory(IReadingStore store, TelemetryHub hub, StatusBoard board) : IEventHistory
{
    public bool IsAvailable => true;

    public async Task<IReadOnlyList<HubEvent>> ReadAsync(SubjectPattern pattern, HubEventId after, HubEventId before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var ders = hub.Ders.Select(d => d.Address)
            .Concat(board.Snapshot().Select(s => s.Der))
            .Distinct()
            .Where(d => pattern.Matches(d.Subject))
            .ToArray();
        if (ders.Length == 0)
        {
            return [];
        }

        var stored = await store.ReadEventsAsync(ders, new EventPosition(after.Epoch, after.Sequence), new EventPosition(before.Epoch, before.Sequence), limit, cancellationToken);
        return stored.Select(s => HubEvent.FromHistory(s.Event.Epoch, s.Event.Sequence, s.Reading)).ToArray();
    }
}
