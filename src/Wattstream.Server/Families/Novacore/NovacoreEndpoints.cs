using Wattstream.Hub;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Transports.Sse;

namespace Wattstream.Server.Families.Novacore;

/// <summary>Novacore's per-site reading stream: one SSE stream per site, every DER's readings as unnamed events.</summary>
internal static class NovacoreEndpoints
{
    public static void Map(IEndpointRouteBuilder app, string tag)
    {
        app.MapGet("/stream/sites/{siteId}", SiteAsync)
            .WithTags(tag)
            .WithSummary("Every DER reading of a site, as Novacore streams it")
            .WithDescription("SSE, unnamed events whose data is a reading: `{\"type\":\"pv\",\"timestamp\":…,\"read_time_ms\":…,\"W\":-3450,…}`. Resume with `Last-Event-ID`.")
            .Produces<NovacoreReadingData>(StatusCodes.Status200OK, OpenApiSetup.EventStream)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> SiteAsync(HttpContext context, string siteId, DerDirectory ders, ITelemetryAccess access, NovacoreFamily family, SseStreams sse)
    {
        if (!Problems.TryValidateId(siteId, "site id", out var invalid))
        {
            return invalid!;
        }

        var scope = access.Resolve(context);
        if (!ders.All(scope).Any(d => d.Address.Site == siteId))
        {
            return Problems.NotFound("not_found", "Unknown site", $"No site '{siteId}'. GET /api/sites lists the sites.");
        }

        return await sse.StreamReadingsAsync(context, SubjectPattern.Parse($"orgs.*.sites.{siteId}.>"), scope, family.Sse);
    }
}
