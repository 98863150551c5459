using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Hub.Status;

namespace Wattstream.Storage;

/// <summary>The hub's view of the store: events older than the replay ring, for resuming clients.</summary>
/// <remarks>The DERs a pattern stands for are all the server knows (<see cref="KnownDers"/>), also those only history holds.</remarks>
public sealed class StoredEventHistory(IReadingStore store, TelemetryHub hub, StatusBoard board) : IEventHistory
{
    public bool IsAvailable => true;

    public async Task<IReadOnlyList<HubEvent>> ReadAsync(SubjectPattern pattern, HubEventId after, HubEventId before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var ders = KnownDers.Of(hub, board).Select(d => d.Address).Where(d => pattern.Matches(d.Subject)).ToArray();
        if (ders.Length == 0)
        {
            return [];
        }

        var stored = await store.ReadEventsAsync(ders, new EventPosition(after.Epoch, after.Sequence), new EventPosition(before.Epoch, before.Sequence), limit, cancellationToken);
        return stored.Select(s => HubEvent.FromHistory(s.Event.Epoch, s.Event.Sequence, s.Reading)).ToArray();
    }
}
