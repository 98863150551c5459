using Wattstream.Hub.Feeds;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Resume;

namespace Wattstream.Streaming.Feeds;

/// <summary>
/// What registers a feed beside the readings (<see cref="FeedServiceCollectionExtensions.AddFeed{T}"/>): its name, where
/// its items come from, how they are framed where the transport's default does not fit, and its store for resuming
/// clients older than the ring.
/// </summary>
public sealed class FeedDefinition<T>
    where T : class, IFeedItem
{
    /// <summary>The <c>/ws</c> subscription kind and <c>/api/feeds/{kind}</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>The SSE event name and <c>/ws</c> message type.</summary>
    public required string EventName { get; init; }

    /// <summary>The engine its owner publishes to: a feed of state or of events.</summary>
    public required Feed<T> Feed { get; init; }

    /// <summary>What one item is called in errors ("alert": "'x' is not an alert id").</summary>
    public string? ItemName { get; init; }

    public FeedPublication Publication { get; init; } = FeedPublication.Core;

    /// <summary>
    /// A feed of state every cluster node computes alike from the cluster's stream: published by one node of a cluster
    /// (<see cref="IFeed.PublishedOnce"/>), which starts with the present whenever it takes over.
    /// </summary>
    public bool PublishedOnce { get; init; }

    /// <summary>
    /// Its own framing for a framing name (<c>ws</c>, <c>sse</c>) where the transport's default (the item's JSON as the
    /// data) is not the shape its clients know.
    /// </summary>
    public IReadOnlyDictionary<string, Func<T, byte[]>> Frames { get; init; } = new Dictionary<string, Func<T, byte[]>>();

    /// <summary>
    /// For a feed of events: what its store holds between two ids for a caller, oldest first, at most a limit — the
    /// resume of a client older than the ring. Null when only the ring is kept.
    /// </summary>
    public Func<StoreQuery, CancellationToken, Task<StoredItems<T>>>? ReadStore { get; init; }

    /// <summary>At most this many stored items are replayed to a resuming client.</summary>
    public int MaxStoreReplay { get; init; } = 10_000;

    /// <summary>Each client's queue; its oldest items are dropped when full.</summary>
    public int QueueCapacity { get; init; } = 1024;
}

/// <summary>What a resuming client's stream asks of a feed's store.</summary>
/// <param name="AfterId">The client's id.</param>
/// <param name="BeforeId">The ring's oldest id: the store gives what lies between.</param>
/// <param name="Scope">The caller's scope: the store narrows by its orgs and sites.</param>
/// <param name="Limit">At most this many, the newest of them.</param>
public sealed record StoreQuery(long AfterId, long BeforeId, TelemetryScope Scope, int Limit);
