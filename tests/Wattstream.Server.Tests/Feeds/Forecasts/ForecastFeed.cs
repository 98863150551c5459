using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Wattstream.Hub.Feeds;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Resume;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests.Feeds.Forecasts;

/// <summary>
/// A feed only the tests register — a site's PV forecast — to prove a new feed needs one folder and one registration
/// call: SSE, <c>/ws</c> and NATS serve it, with resume and scope, and no transport changes.
/// </summary>
public sealed class Forecast(long id, string org, string site, double watts) : IFeedItem
{
    public string Subject => $"orgs.{Org}.sites.{Site}.forecast.json.v1";

    public string Org { get; } = org;

    public string Site { get; } = site;

    public DerAddress? Der => null;

    public long Id { get; } = id;

    public double Watts { get; } = watts;

    public ReadOnlyMemory<byte> Json { get; } = Encoding.UTF8.GetBytes($$"""{"id":{{id}},"org":"{{org}}","site":"{{site}}","pvW":{{watts}}}""");

    public FramedEncodings Encodings { get; } = new();
}

/// <summary>Where forecasts are published: a small ring, and a store that keeps every one (for resuming older than the ring).</summary>
public sealed class ForecastBoard
{
    public const int RingCapacity = 4;

    private readonly List<Forecast> _stored = [];

    public Feed<Forecast> Feed { get; } = Hub.Feeds.Feed.OfEvents<Forecast>(RingCapacity);

    public void Publish(Forecast forecast)
    {
        lock (_stored)
        {
            _stored.Add(forecast); // stored first, then offered: what left the ring is always in the store
        }

        Feed.Publish(forecast);
    }

    public Task<StoredItems<Forecast>> ReadAsync(StoreQuery query, CancellationToken cancellationToken)
    {
        lock (_stored)
        {
            Forecast[] rows = [.. _stored.Where(f => f.Id > query.AfterId && f.Id < query.BeforeId && query.Scope.CanSeeSite(f.Org, f.Site)).TakeLast(query.Limit)];
            return Task.FromResult(new StoredItems<Forecast>(rows, rows.Length < query.Limit));
        }
    }
}

public static class ForecastFeedRegistration
{
    /// <summary>The one registration call.</summary>
    public static IServiceCollection AddForecastFeed(this IServiceCollection services)
    {
        services.AddSingleton<ForecastBoard>();
        return services.AddFeed(sp =>
        {
            var board = sp.GetRequiredService<ForecastBoard>();
            return new FeedDefinition<Forecast> { Kind = "forecasts", EventName = "forecast", ItemName = "forecast", Feed = board.Feed, ReadStore = board.ReadAsync };
        });
    }
}
