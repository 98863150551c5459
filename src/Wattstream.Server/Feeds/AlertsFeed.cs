using Wattstream.Alerts.Delivery;
using Wattstream.Server.Endpoints.Alerts;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Resume;

namespace Wattstream.Server.Feeds;

/// <summary>
/// Alerts: a feed of events whose ids are the alert store's, so a client resumes after an alert id across restarts
/// (the ring, then the store). On NATS each alert goes to its site's <c>….alerts.json.v1</c>. In cluster mode the ids
/// are the <c>ALERTS</c> stream's sequences and the store is what this node took from it, so a client resumes on any node.
/// </summary>
public static class AlertsFeed
{
    public const string Kind = "alerts";

    public static IServiceCollection AddAlertsFeed(this IServiceCollection services) =>
        services.AddFeed(sp =>
        {
            var alerts = sp.GetRequiredService<AlertFeed>();
            return new FeedDefinition<Alert>
            {
                Kind = Kind,
                EventName = AlertEndpoints.AlertEvent,
                ItemName = "alert",
                Feed = alerts.Feed,
                // In cluster mode the alert is on its subject already: the stream took it there (ClusterAlertStream).
                Publication = alerts.Stream is null ? FeedPublication.Core : FeedPublication.None,
                ReadStore = async (query, cancellationToken) =>
                {
                    // The newest of what lies between (the ring joins on without a hole), oldest first.
                    var rows = await alerts.History.QueryAsync(
                        AlertAccess.Query(query.Scope) with { AfterId = query.AfterId, BeforeId = query.BeforeId, NewestFirst = true, Limit = query.Limit },
                        cancellationToken);
                    return new StoredItems<Alert>([.. rows.Reverse().Select(AlertFeed.FromStored)], rows.Count < query.Limit);
                },
            };
        });
}
