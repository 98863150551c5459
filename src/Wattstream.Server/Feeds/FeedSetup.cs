using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Formats;
using Wattstream.Streaming.Resume;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Feeds;

/// <summary>
/// The feeds every transport serves, registered in this order: readings (the default kind), statuses, alerts, site
/// summaries. Each is one <see cref="FeedServiceCollectionExtensions.AddFeed{T}"/> call in its own file here.
/// </summary>
public static class FeedSetup
{
    public static IServiceCollection AddWattstreamFeeds(this IServiceCollection services)
    {
        // Readings on NATS are Novacore's reading JSON on their DER's subject, what Novacore's own clients read.
        services.AddSingleton(sp =>
        {
            var formats = sp.GetRequiredService<PayloadFormats>();
            return new ReadingsFeed(sp.GetRequiredService<ReadingStreams>(), formats, formats.Find(NovacoreReading.FormatName));
        });
        services.AddSingleton<IFeed>(sp => sp.GetRequiredService<ReadingsFeed>());
        services.AddStatusFeed();
        services.AddAlertsFeed();
        services.AddSummaryFeed();
        return services;
    }
}
