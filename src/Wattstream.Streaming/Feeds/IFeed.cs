using Wattstream.Hub;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Resume;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Streaming.Feeds;

/// <summary>
/// Something a client can subscribe to — readings, statuses, alerts, summaries, and whatever is registered next. Every
/// transport (SSE, <c>/ws</c>, the NATS publisher) and the shutdown loop over the registered feeds and know none by name:
/// a feed brings its kind, its ids and resume, its scope rule (applied inside <see cref="OpenAsync"/>, once, for every
/// transport) and its encoding per framing. docs/architecture.md, "How to add a feed".
/// </summary>
public interface IFeed
{
    /// <summary>Its name: the <c>/ws</c> subscription kind and <c>/api/feeds/{kind}</c>.</summary>
    string Kind { get; }

    /// <summary>The SSE event name and the <c>/ws</c> message type of its items.</summary>
    string EventName { get; }

    /// <summary>Whether a client resumes it after an id (otherwise it gets the present state first).</summary>
    bool IsResumable { get; }

    /// <summary>How it reaches NATS.</summary>
    FeedPublication Publication { get; }

    /// <summary>
    /// A feed of state that every cluster node computes alike from the cluster's stream (statuses, summaries): in cluster
    /// mode one node publishes it for all, the holder of the job <c>publish:{kind}</c>.
    /// </summary>
    bool PublishedOnce => false;

    /// <summary>
    /// A client's stream: what the caller's scope and pattern admit, resumed after the request's id when the feed keeps
    /// ids, in the request's framing; or why not (a malformed id, an unknown format).
    /// </summary>
    Task<FeedOpening> OpenAsync(FeedRequest request, CancellationToken cancellationToken = default);

    /// <summary>Everything it publishes from now on, as NATS messages (the publisher's queue).</summary>
    IFeedMessages OpenPublication(int capacity);

    /// <summary>Ends every stream of it (shutdown): readers see the end after what is queued.</summary>
    void CompleteAll();
}

/// <summary>Where a feed's items go on NATS.</summary>
public enum FeedPublication
{
    /// <summary>Not published.</summary>
    None,

    /// <summary>Core NATS, each item on its subject.</summary>
    Core,

    /// <summary>The JetStream stream (with a message id for de-duplication); in cluster mode the cluster's log carries them.</summary>
    Stream,
}

/// <summary>What a client asks of a feed, whatever its transport.</summary>
/// <param name="Pattern">The subjects it wants (a DER's telemetry subject selects that DER's items; a site's pattern its site's).</param>
/// <param name="Scope">What the caller may see: applied to every item, live, replayed or stored.</param>
/// <param name="Framing">How the transport frames items.</param>
public sealed record FeedRequest(SubjectPattern Pattern, TelemetryScope Scope, IFeedFraming Framing)
{
    /// <summary>The resume id as the client sent it (read by <see cref="ResumeIds"/>); null for none.</summary>
    public string? LastEventId { get; init; }

    /// <summary>The payload format asked for (feeds of readings); null for the default.</summary>
    public string? Format { get; init; }
}

/// <summary>A feed's answer to <see cref="IFeed.OpenAsync"/>: a stream, or an error the transport reports its own way.</summary>
public sealed class FeedOpening
{
    private FeedOpening(FeedStream? stream, string? errorCode, string? error)
    {
        Stream = stream;
        ErrorCode = errorCode;
        Error = error;
    }

    public FeedStream? Stream { get; }

    /// <summary>A stable code: <c>bad_last_event_id</c>, <c>unknown_format</c>.</summary>
    public string? ErrorCode { get; }

    public string? Error { get; }

    public static FeedOpening Opened(FeedStream stream) => new(stream, null, null);

    public static FeedOpening Refused(string code, string error) => new(null, code, error);
}

/// <summary>A client's open stream of a feed: the queue its transport drains, in the framing it asked for, and how its resume went.</summary>
public abstract class FeedStream : IDisposable
{
    public abstract IEventQueue Queue { get; }

    public ResumeOutcome Outcome { get; init; }

    /// <summary>For feeds with epoch ids (readings), what a client that resumed too late is told.</summary>
    public ResumeGap? Gap { get; init; }

    /// <summary>How many of the first items come from the store.</summary>
    public int FromStore { get; init; }

    /// <summary>The payload format of a stream of readings.</summary>
    public string? Format { get; init; }

    /// <summary>Sends the items through <paramref name="session"/> until either side ends.</summary>
    public abstract Task PumpAsync(StreamSession session);

    public void Dispose()
    {
        Queue.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A stream of items of <typeparamref name="T"/>, each encoded once per framing.</summary>
public sealed class FeedStream<T>(IEventReader<T> reader, Func<T, ReadOnlyMemory<byte>> encode) : FeedStream
{
    public override IEventQueue Queue => reader;

    public IEventReader<T> Reader => reader;

    public override Task PumpAsync(StreamSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.PumpAsync(reader, encode);
    }
}
