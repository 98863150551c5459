using Wattstream.Hub;
using Wattstream.Hub.Feeds;
using Wattstream.Streaming.Resume;

namespace Wattstream.Streaming.Feeds;

/// <summary>
/// A feed beside the readings as every transport serves it: scope and pattern applied inside <see cref="OpenAsync"/>,
/// resume through <see cref="ResumeChain"/>, each item framed once per framing.
/// </summary>
public sealed class RegisteredFeed<T>(FeedDefinition<T> definition) : IFeed
    where T : class, IFeedItem
{
    public FeedDefinition<T> Definition { get; } = definition ?? throw new ArgumentNullException(nameof(definition));

    public string Kind => Definition.Kind;

    public string EventName => Definition.EventName;

    public bool IsResumable => Definition.Feed.IsResumable;

    public FeedPublication Publication => Definition.Publication;

    public bool PublishedOnce => Definition.PublishedOnce;

    public Task<FeedOpening> OpenAsync(FeedRequest request, CancellationToken cancellationToken = default) => OpenAsync(request, null, cancellationToken);

    /// <summary>As <see cref="OpenAsync(FeedRequest, CancellationToken)"/>, narrowed further by <paramref name="also"/> (an endpoint's own filters).</summary>
    public async Task<FeedOpening> OpenAsync(FeedRequest request, Func<T, bool>? also, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var scope = request.Scope;
        var pattern = request.Pattern;
        Func<T, bool> accept = also is null
            ? item => scope.CanSee(item) && pattern.Matches(item)
            : item => scope.CanSee(item) && pattern.Matches(item) && also(item);

        long? resumeAfter = null;
        if (IsResumable)
        {
            if (!ResumeIds.TryParse(request.LastEventId, FeedIdFormat.Number, Definition.ItemName ?? Kind, out var after, out var error))
            {
                return FeedOpening.Refused("bad_last_event_id", error);
            }

            resumeAfter = after?.Sequence;
        }

        var subscription = Definition.Feed.Subscribe(accept, Definition.QueueCapacity, resumeAfter);
        try
        {
            var readStore = Definition.ReadStore is { } read && resumeAfter is { } from
                ? (before, ct) => read(new StoreQuery(from, before, scope, Definition.MaxStoreReplay), ct)
                : (Func<long, CancellationToken, Task<StoredItems<T>>>?)null;
            var (outcome, fromStore) = await ResumeChain.CompleteAsync(subscription, readStore, accept, Definition.MaxStoreReplay, cancellationToken);
            var framing = request.Framing;
            return FeedOpening.Opened(new FeedStream<T>(subscription, item => Frame(framing, item)) { Outcome = outcome, FromStore = fromStore });
        }
        catch
        {
            subscription.Dispose();
            throw;
        }
    }

    /// <summary>An item in <paramref name="framing"/>: the feed's own framing if it has one, else the transport's; made once.</summary>
    public ReadOnlyMemory<byte> Frame(IFeedFraming framing, T item)
    {
        ArgumentNullException.ThrowIfNull(framing);
        ArgumentNullException.ThrowIfNull(item);
        return item.Encodings.Get(item, framing, i => Definition.Frames.TryGetValue(framing.Name, out var own) ? own(i) : framing.Frame(this, i));
    }

    public IFeedMessages OpenPublication(int capacity) =>
        new FeedMessages<T>(Definition.Feed.Subscribe(null, capacity), item => new FeedMessage(item.Subject, item.Json));

    public void CompleteAll() => Definition.Feed.CompleteAll();

    public override string ToString() => Kind;
}
