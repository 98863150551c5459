using Wattstream.Hub;
using Wattstream.Server.Streaming;

namespace Wattstream.Server.Endpoints;

/// <summary>The whatwatt Go device's API, served for every meter the hub knows (and to any number of clients).</summary>
public static class WhatwattEndpoints
{
    public static IEndpointRouteBuilder MapWhatwatt(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/live", LiveAsync)
            .WithName("WhatwattLive")
            .WithTags("whatwatt")
            .WithSummary("Live meter values as the whatwatt Go device streams them: SSE, `event: live`, one line of JSON per measurement.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> LiveAsync(HttpContext context, string? meter, MeterLookup meters, TelemetryHub hub, WireFormats formats, SseStreaming sse)
    {
        if (!meters.TryFind(meter, out var address))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Unknown meter",
                detail: string.IsNullOrEmpty(meter) ? "The hub knows no meter yet." : $"No meter with number or device id '{meter}'. GET /api/v1/live without ?meter= streams the first meter.");
        }

        var encoder = formats.WhatwattLiveSse;
        var subscription = hub.Subscribe(SubjectPattern.Parse(address.Subject));
        await sse.RunAsync(context, subscription, e => WireFormats.Frame(encoder, e));
        return TypedResults.Empty;
    }
}
