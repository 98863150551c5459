using Wattstream.Hub;
using Wattstream.Hub.Feeds;
using Wattstream.Streaming.Formats;

namespace Wattstream.Streaming.Feeds;

/// <summary>
/// How a transport frames a feed's items (an SSE event, a <c>/ws</c> message). The transport owns its framing; a feed
/// may frame its items otherwise for a framing it names (<see cref="FeedDefinition{T}.Frames"/>). Bytes are made once
/// per item and framing and shared by every client.
/// </summary>
public interface IFeedFraming
{
    /// <summary>Its name, which a feed's own framings are keyed by: <c>sse</c>, <c>ws</c>.</summary>
    string Name { get; }

    /// <summary>An item of a feed beside the readings, framed the transport's default way.</summary>
    byte[] Frame(IFeed feed, IFeedItem item);

    /// <summary>The encoder of readings in <paramref name="format"/> in this framing.</summary>
    WireEncoder ReadingEncoder(IFeed feed, PayloadFormat format);
}
