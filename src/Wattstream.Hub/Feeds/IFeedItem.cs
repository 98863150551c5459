using Wattstream.Telemetry;

namespace Wattstream.Hub.Feeds;

/// <summary>
/// An item of a feed beside the readings (a status change, an alert, a site summary…), as every transport sees it:
/// where it belongs (which decides who may see it and which subject patterns select it), its position in its feed, and
/// its JSON. Its bytes in each framing are made once and shared through <see cref="Encodings"/>.
/// </summary>
public interface IFeedItem
{
    /// <summary>Its own subject, e.g. <c>orgs.{org}.sites.{site}.alerts.json.v1</c>: the NATS subject it is published on.</summary>
    string Subject { get; }

    string Org { get; }

    string Site { get; }

    /// <summary>The DER it is about; null for what concerns a whole site.</summary>
    DerAddress? Der { get; }

    /// <summary>Its position in its feed: the resume id of feeds with ids, a version otherwise; grows with every item.</summary>
    long Id { get; }

    /// <summary>Its JSON: the NATS payload, and the data of SSE events and <c>/ws</c> messages unless its feed frames it otherwise.</summary>
    ReadOnlyMemory<byte> Json { get; }

    /// <summary>Its bytes per framing, made on first use.</summary>
    FramedEncodings Encodings { get; }
}

/// <summary>The rules of where a feed item belongs, written once for every feed and transport.</summary>
public static class FeedItems
{
    /// <summary>
    /// Whether <paramref name="pattern"/> selects <paramref name="item"/>: its own subject, its DER's telemetry subject
    /// (a DER's pattern selects that DER's statuses and alerts), or, for a site's item, any pattern that could match
    /// within the site (<c>orgs.acme.sites.s1.&gt;</c> selects the site's alerts and summaries).
    /// </summary>
    public static bool Matches(this SubjectPattern pattern, IFeedItem item)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(item);
        return pattern.Matches(item.Subject)
            || (item.Der is { } der ? pattern.Matches(der.Subject) : pattern.CouldMatch(["orgs", item.Org, "sites", item.Site]));
    }
}
