using Wattstream.Hub;
using Wattstream.Hub.Feeds;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Formats;

namespace Wattstream.Server.Families.General;

/// <summary>
/// Feeds as <c>/ws</c> messages: <c>{"type": the feed's event name, "id": (feeds with ids), "subject", "data": its JSON}</c>;
/// readings as <see cref="WsReadingEncoder"/> writes them.
/// </summary>
internal sealed class WsFeedFraming(GeneralFamily family) : IFeedFraming
{
    public const string FramingName = "ws";

    public string Name => FramingName;

    public byte[] Frame(IFeed feed, IFeedItem item)
    {
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(item);
        return WsMessages.Write(w =>
        {
            w.WriteString("type", feed.EventName);
            if (feed.IsResumable)
            {
                w.WriteString("id", item.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            w.WriteString("subject", item.Subject);
            w.WritePropertyName("data");
            w.WriteRawValue(item.Json.Span, skipInputValidation: true);
        });
    }

    public WireEncoder ReadingEncoder(IFeed feed, PayloadFormat format) => family.ReadingEncoder(format);
}
