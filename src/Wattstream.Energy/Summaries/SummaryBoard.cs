using Wattstream.Hub;

namespace Wattstream.Energy.Summaries;

/// <summary>
/// Every site's newest summary, and a feed of new ones. A summary is state, like a status: a subscriber gets the
/// present summary of each site it may see, then every new one.
/// </summary>
public sealed class SummaryBoard
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Org, string Site), SiteSummary> _latest = [];
    private readonly FeedSubscribers<SiteSummary> _subscribers = new();

    public SiteSummary? Get(string org, string site)
    {
        lock (_gate)
        {
            return _latest.GetValueOrDefault((org, site));
        }
    }

    public IReadOnlyList<SiteSummary> All()
    {
        lock (_gate)
        {
            return [.. _latest.Values.OrderBy(s => s.Org, StringComparer.Ordinal).ThenBy(s => s.Site, StringComparer.Ordinal)];
        }
    }

    public void Publish(SiteSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        lock (_gate)
        {
            _latest[(summary.Org, summary.Site)] = summary;
            _subscribers.Offer(summary);
        }
    }

    /// <summary>The present summaries <paramref name="filter"/> admits, then every new one it admits.</summary>
    public FeedSubscription<SiteSummary> Subscribe(Func<SiteSummary, bool>? filter = null, int capacity = 4096)
    {
        lock (_gate)
        {
            var present = _latest.Values.Where(s => filter is null || filter(s)).OrderBy(s => s.Version).ToArray();
            return _subscribers.Add(filter, capacity, present);
        }
    }

    public void CompleteAll() => _subscribers.CompleteAll();
}
