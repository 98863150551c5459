using Wattstream.Hub;
using Wattstream.Hub.Feeds;

namespace Wattstream.Energy.Summaries;

/// <summary>
/// Every site's newest summary, and a feed of new ones. A summary is state, like a status: a subscriber gets the
/// present summary of each site it may see, then every new one.
/// </summary>
public sealed class SummaryBoard
{
    private readonly Feed<SiteSummary> _feed = Hub.Feeds.Feed.OfState<SiteSummary>(s => (s.Org, s.Site));

    /// <summary>The feed of summaries: the present summary of each site, then every new one.</summary>
    public Feed<SiteSummary> Feed => _feed;

    public SiteSummary? Get(string org, string site) => _feed.Find((org, site));

    public IReadOnlyList<SiteSummary> All() =>
        [.. _feed.Present().OrderBy(s => s.Org, StringComparer.Ordinal).ThenBy(s => s.Site, StringComparer.Ordinal)];

    public void Publish(SiteSummary summary) => _feed.Publish(summary);

    /// <summary>The present summaries <paramref name="filter"/> admits, then every new one it admits.</summary>
    public DropOldestQueue<SiteSummary> Subscribe(Func<SiteSummary, bool>? filter = null, int capacity = 4096) => _feed.Subscribe(filter, capacity);

    public void CompleteAll() => _feed.CompleteAll();
}
