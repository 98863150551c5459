using System.Runtime.CompilerServices;
using Wattstream.Hub;
using Wattstream.Hub.Feeds;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Formats;

namespace Wattstream.Server.Transports.Sse;

/// <summary>
/// Feeds as SSE events: <c>id: {the item's id}</c>, <c>event: {the feed's event name}</c>, <c>data: {its JSON}</c>;
/// readings in the chosen format with their <c>{epoch}-{sequence}</c> id.
/// </summary>
public sealed class SseFeedFraming : IFeedFraming
{
    public static SseFeedFraming Instance { get; } = new();

    // One encoder per format and event name: a reading's bytes are cached per encoder, so every client shares them.
    private readonly ConditionalWeakTable<PayloadFormat, SseEventEncoder> _readingEncoders = [];

    private SseFeedFraming()
    {
    }

    public string Name => "sse";

    public byte[] Frame(IFeed feed, IFeedItem item)
    {
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(item);
        return SseFrame.Event(item.Id, feed.EventName, item.Json.Span);
    }

    public WireEncoder ReadingEncoder(IFeed feed, PayloadFormat format)
    {
        ArgumentNullException.ThrowIfNull(feed);
        return _readingEncoders.GetValue(format, f => new SseEventEncoder(f, feed.EventName));
    }
}
