using Wattstream.Energy.Summaries;
using Wattstream.Server.Endpoints.Energy;
using Wattstream.Streaming.Feeds;

namespace Wattstream.Server.Feeds;

/// <summary>
/// Site summaries: a feed of state (each site's present summary, then every new one, at most one a second a site). On
/// NATS each goes to its site's <c>….summary.json.v1</c> (from one node of a cluster).
/// </summary>
public static class SummaryFeed
{
    public const string Kind = "summary";

    public static IServiceCollection AddSummaryFeed(this IServiceCollection services) =>
        services.AddFeed(sp => new FeedDefinition<SiteSummary>
        {
            Kind = Kind,
            EventName = EnergyEndpoints.SummaryEvent,
            Feed = sp.GetRequiredService<SummaryBoard>().Feed,
            QueueCapacity = 4096,
            PublishedOnce = true,
        });
}
