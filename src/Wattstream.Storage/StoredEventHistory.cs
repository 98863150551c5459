using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Hub.Status;

namespace Wattstream.Storage;

/// <summary>The hub's view of the store: events older than the replay ring, for resuming clients.</summary>
/// <remarks>
/// The DERs a pattern stands for are all the server knows (<see cref="KnownDers"/>), also those only history holds.
/// With the store's epochs (<paramref name="epochs"/>) a read knows more than what it found: an id of the epoch the hub
/// counts in, at or after an event the store still holds, has every later event of the epoch in the store (earlier
/// runs of the epoch all stopped cleanly), so the answer is complete even when nothing matched; an id of an epoch the
/// store holds nothing of is another store's (or all of it is gone), and is answered with nothing.
/// </remarks>
public sealed class StoredEventHistory(IReadingStore store, TelemetryHub hub, StatusBoard board, StoreEpoch? epochs = null) : IEventHistory
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

    public async Task<HistoryRange> ReadRangeAsync(SubjectPattern pattern, HubEventId after, HubEventId before, int limit, CancellationToken cancellationToken = default)
    {
        if (epochs is not { Current: { } run, Epochs: { } ledger })
        {
            return new HistoryRange(await ReadAsync(pattern, after, before, limit, cancellationToken), Complete: false);
        }

        if (after.Epoch == run.Epoch && before.Epoch == run.Epoch && await ledger.HoldsAsync(after.Epoch, after.Sequence, cancellationToken))
        {
            var events = await ReadAsync(pattern, after, before, limit, cancellationToken);
            return new HistoryRange(events, Complete: events.Count < limit);
        }

        if (after.Epoch != run.Epoch && !await ledger.HoldsAsync(after.Epoch, long.MaxValue, cancellationToken))
        {
            return new HistoryRange([], Complete: false);
        }

        return new HistoryRange(await ReadAsync(pattern, after, before, limit, cancellationToken), Complete: false);
    }
}
