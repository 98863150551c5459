using Wattstream.Hub;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Transports.Sse;
using Wattstream.Streaming.Feeds;
using Wattstream.Telemetry;

namespace Wattstream.Server.Feeds;

/// <summary>
/// <c>GET /api/feeds/{kind}</c>: any registered feed as SSE, for the subjects <c>?subject=</c> selects (the same patterns as
/// <c>/ws</c>), resumable with <c>Last-Event-ID</c> where the feed keeps ids. Knows no feed by name.
/// </summary>
public static class FeedEndpoints
{
    public static IEndpointRouteBuilder MapFeeds(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/feeds/{kind}", StreamAsync)
            .WithTags("general")
            .WithSummary("SSE: any feed by its kind (`readings`, `status`, `alerts`, `summary`), `?subject=` a subject pattern (default `>`), `?format=` for readings; resumable with `Last-Event-ID` where the feed keeps ids")
            .WithDescription("Each event: `id:` the item's id, `event:` the feed's event name (`reading`, `status`, `alert`, `summary`), `data:` the item's JSON — what NATS carries on the item's subject (readings in the chosen format). The caller's orgs and sites apply as everywhere.")
            .Produces<FeedEventDocument>(StatusCodes.Status200OK, OpenApiSetup.EventStream)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> StreamAsync(HttpContext context, string kind, FeedRegistry feeds, ITelemetryAccess access, SseStreams sse)
    {
        if (feeds.Find(kind) is not { } feed)
        {
            return Problems.NotFound("unknown_feed", "Unknown feed", $"'{Excerpt.Of(kind, 64)}' is not a feed; the feeds are {feeds.Kinds}.");
        }

        if (!SubjectPattern.TryParse(context.Request.Query["subject"].FirstOrDefault() ?? ">", out var pattern, out var error))
        {
            return Problems.BadRequest("invalid_subject", "Malformed subject pattern", error);
        }

        var scope = access.Resolve(context);
        if (!scope.CouldSee(pattern))
        {
            return Problems.Problem(StatusCodes.Status403Forbidden, "forbidden_subject", "Subject not readable", $"'{Excerpt.Of(pattern.Pattern, 64)}' matches nothing this caller may read.");
        }

        var request = SseStreams.FeedRequest(context, pattern, scope, context.Request.Query["format"].FirstOrDefault());
        return await sse.StreamFeedAsync(context, await feed.OpenAsync(request, context.RequestAborted));
    }
}

/// <summary>One event of <c>/api/feeds/{kind}</c>: the SSE frame's fields.</summary>
/// <param name="Id">The item's id (<c>{epoch}-{sequence}</c> for readings, a whole number otherwise).</param>
/// <param name="Event">The feed's event name: <c>reading</c>, <c>status</c>, <c>alert</c>, <c>summary</c>.</param>
/// <param name="Data">The item's JSON, as NATS carries it on the item's subject.</param>
public sealed record FeedEventDocument(string Id, string Event, System.Text.Json.JsonElement Data);
