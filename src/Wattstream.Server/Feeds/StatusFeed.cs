using Microsoft.Extensions.Options;
using Wattstream.Hub.Status;
using Wattstream.Nats;
using Wattstream.Server.Families.General;
using Wattstream.Streaming.Feeds;
using Wattstream.Telemetry;

namespace Wattstream.Server.Feeds;

/// <summary>
/// DER statuses: a feed of state (the present status of every DER, then each change). On NATS, the status JSON on
/// <c>….status.json.v1</c> (unless <c>Nats:PublishStatus=false</c>; a cluster publishes them once, from one node); on
/// <c>/ws</c> its own flat message.
/// </summary>
public static class StatusFeed
{
    public const string Kind = "status";

    public static IServiceCollection AddStatusFeed(this IServiceCollection services) =>
        services.AddFeed(sp => new FeedDefinition<DerStatus>
        {
            Kind = Kind,
            EventName = "status",
            Feed = sp.GetRequiredService<StatusBoard>().Feed,
            // A cluster publishes statuses once whatever Nats:PublishStatus says (NatsPublisher warns about it).
            Publication = sp.GetService<IOptions<NatsOptions>>()?.Value is { PublishStatus: false, Cluster: false } ? FeedPublication.None : FeedPublication.Core,
            PublishedOnce = true,
            Frames = new Dictionary<string, Func<DerStatus, byte[]>> { [WsFeedFraming.FramingName] = WsMessage },
        });

    /// <summary>
    /// <c>{"type":"status","subject": the DER's telemetry subject,"der","derType","status","lastSeen","detail"}</c>: the
    /// <c>/ws</c> status message as its clients know it.
    /// </summary>
    private static byte[] WsMessage(DerStatus status) => WsMessages.Write(w =>
    {
        w.WriteString("type", "status");
        w.WriteString("subject", status.Der.Subject);
        w.WriteString("der", status.Der.Der);
        w.WriteString("derType", status.Type.ToWireName());
        w.WriteString("status", status.Status.ToWireName());
        if (status.LastSeen is { } seen)
        {
            w.WriteString("lastSeen", WireTime.Format(seen));
        }

        if (status.Detail is { } detail)
        {
            w.WriteString("detail", detail);
        }
    });
}
