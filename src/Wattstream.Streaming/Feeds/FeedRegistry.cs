using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Wattstream.Hub.Feeds;

namespace Wattstream.Streaming.Feeds;

/// <summary>Every registered feed, in the order registered: what transports, the NATS publisher and shutdown loop over.</summary>
public sealed class FeedRegistry(IEnumerable<IFeed> feeds)
{
    private readonly IFeed[] _feeds = [.. feeds];

    public IReadOnlyList<IFeed> All => _feeds;

    /// <summary>The feed of that kind; an absent kind means readings.</summary>
    public IFeed? Find(string? kind) => Array.Find(_feeds, f => f.Kind == (kind ?? ReadingsFeed.KindName));

    /// <summary>The kinds, for an error that lists them.</summary>
    public string Kinds => string.Join(", ", _feeds.Select(f => $"\"{f.Kind}\""));

    /// <summary>Ends every stream of every feed (shutdown).</summary>
    public void CompleteAll()
    {
        foreach (var feed in _feeds)
        {
            feed.CompleteAll();
        }
    }
}

public static class FeedServiceCollectionExtensions
{
    /// <summary>
    /// Registers a feed: from now on SSE (<c>/api/feeds/{kind}</c>), <c>/ws</c> (<c>kind</c>) and the NATS publisher serve
    /// it, with resume and the caller's scope. Its typed form (<see cref="RegisteredFeed{T}"/>) is there for endpoints
    /// with filters of their own.
    /// </summary>
    public static IServiceCollection AddFeed<T>(this IServiceCollection services, Func<IServiceProvider, FeedDefinition<T>> define)
        where T : class, IFeedItem
    {
        ArgumentNullException.ThrowIfNull(define);
        services.AddSingleton(sp => new RegisteredFeed<T>(define(sp)));
        services.AddSingleton<IFeed>(sp => sp.GetRequiredService<RegisteredFeed<T>>());
        services.TryAddSingleton<FeedRegistry>();
        return services;
    }
}
