using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Resume;

namespace Wattstream.Streaming.Resume;

/// <summary>
/// Opens reading streams for every transport: the subscription with the caller's scope, and resume — the replay ring,
/// then stored history for what the ring no longer holds, then live. The one place resume is decided.
/// </summary>
public sealed class ReadingStreams(TelemetryHub hub, IEventHistory history, IOptions<StreamingOptions> options)
{
    private readonly StreamingOptions _options = options.Value;

    public TelemetryHub Hub => hub;

    public async Task<ReadingStream> OpenAsync(ReadingStreamRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var accept = request.Scope.EventFilter(request.Filter);
        long? resumeAfter = null;
        if (request.ResumeAfter is { } after)
        {
            // An id of another run cannot be placed in this one: older than anything the ring holds.
            resumeAfter = after.Epoch == hub.Epoch ? after.Sequence : -1;
            if (hub.Log is not null && after.Epoch == hub.Epoch)
            {
                await CatchUpAsync(after.Sequence, cancellationToken);
            }
        }

        var subscription = hub.Subscribe(request.Pattern, new SubscribeOptions
        {
            ResumeAfter = resumeAfter,
            StartWithLastValues = request.StartWithLastValues,
            QueueCapacity = _options.QueueCapacity,
            Filter = accept,
        });

        try
        {
            return subscription.Resume switch
            {
                ResumeResult.Complete => new ReadingStream(subscription, ResumeOutcome.Complete, null, 0),
                ResumeResult.TooOld => await FromHistoryAsync(request, accept, subscription, cancellationToken),
                _ => new ReadingStream(subscription, ResumeOutcome.None, null, 0),
            };
        }
        catch
        {
            subscription.Dispose();
            throw;
        }
    }

    // Cluster mode: a client coming from a node that is a little ahead of this one (both follow the same log) waits
    // until this node has its id too, so the live events after it are exactly what it missed. Bounded: a node that
    // lags longer answers with what it has.
    private async Task CatchUpAsync(long sequence, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _options.ClusterCatchUp;
        while (hub.Counters.LastEventId < sequence && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, cancellationToken);
        }
    }

    // Older than the ring: what history holds between the client's id and the ring, then the ring, then live.
    private async Task<ReadingStream> FromHistoryAsync(ReadingStreamRequest request, Func<HubEvent, bool>? accept, HubSubscription subscription, CancellationToken cancellationToken)
    {
        var after = request.ResumeAfter!.Value;
        Func<long, CancellationToken, Task<StoredItems<HubEvent>>>? readHistory = history.IsAvailable
            ? async (before, ct) =>
            {
                var range = await history.ReadRangeAsync(request.Pattern, after, new HubEventId(hub.Epoch, before), _options.MaxHistoryReplay, ct);
                return new StoredItems<HubEvent>(range.Events, range.Complete);
            }
            : null;
        var (outcome, fromHistory) = await ResumeChain.CompleteAsync(subscription, readHistory, accept, _options.MaxHistoryReplay, cancellationToken);
        if (outcome == ResumeOutcome.Complete)
        {
            return new ReadingStream(subscription, ResumeOutcome.Complete, null, fromHistory);
        }

        // Nothing stored for the gap (or more than one resume replays): say so, then what is held.
        var gap = new ResumeGap(
            after,
            subscription.OldestReplayedId is { } oldest ? new HubEventId(hub.Epoch, oldest) : null,
            new HubEventId(hub.Epoch, subscription.ResumedFromId ?? 0));
        return new ReadingStream(subscription, ResumeOutcome.Gap, gap, fromHistory);
    }
}
