using System.Text.Json;
using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Hub.Status;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Transports.Sse;
using Wattstream.Streaming.Feeds;
using Wattstream.Telemetry;

namespace Wattstream.Server.Families.Hes;

/// <summary>
/// The head-end system's backend SSE endpoints, at the paths of the frontend's notes (<c>/api/sse/…</c>) and of the
/// real backend it calls (<c>/hes/service/…</c>). Readings are unnamed events of labelled values; statuses are
/// <c>meter-status</c> events, sent at connect and on every change.
/// </summary>
internal static class HesEndpoints
{
    public const string MeterStatusEvent = HesStatusFraming.MeterStatusEvent;

    public static void Map(IEndpointRouteBuilder app, string tag)
    {
        var group = app.MapGroup("").WithTags(tag);
        group.MapGet("/api/sse/meters", AllMetersAsync)
            .WithSummary("Readings of every meter the caller may see (HES global monitoring)")
            .WithDescription("SSE, unnamed events: `{\"meterNo\":\"62124022441\",\"timestamp\":\"2026-…Z\",\"L1 Voltage\":\"230.5 V\",…}`.")
            .Produces<HesRealtimeData>(StatusCodes.Status200OK, OpenApiSetup.EventStream);
        group.MapGet("/hes/service/stream", AllMetersAsync)
            .WithSummary("Readings of every meter (the HES backend's path; clients filter by meterNo)")
            .Produces<HesRealtimeData>(StatusCodes.Status200OK, OpenApiSetup.EventStream);
        group.MapPost("/hes/service/stream", HesReadRequests.ReadAsync)
            .WithSummary("Read OBIS codes of up to 20 meters now: `reading` events, then `completed` (or `warning` when nothing could be read)")
            .WithDescription("Body `{\"meterType\":\"MD\"|\"Non-MD\",\"meters\":[\"62124022441\"],\"obisString\":[\"1-0:1.8.0\",\"32.7.0\"]}` (at most 20 meters and 50 codes). Each `reading` is `{statuscode (0 ok, -1 failed), meterNo, meterModel, obisString, value, timestamp, desc, statusmessage, elapsedMs}`, from the meter's last reading.")
            .Accepts<HesReadRequest>("application/json")
            .Produces<HesObisReading>(StatusCodes.Status200OK, OpenApiSetup.EventStream)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .DisableAntiforgery();
        group.MapGet("/api/sse/real-time-data/{meterId}", OneMeterAsync)
            .WithSummary("Readings of one meter")
            .Produces<HesRealtimeData>(StatusCodes.Status200OK, OpenApiSetup.EventStream)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/api/sse/meter-status/{meterId}", OneStatusAsync)
            .WithSummary("Status of one meter: `meter-status` events at connect and on every change")
            .WithDescription("`{\"meterNo\":\"62124022441\",\"lastSeen\":\"2026-…Z\",\"status\":\"CONNECTED\"}`; status is CONNECTED, STALE, DISCONNECTED, CONNECTING, AUTH_FAILED or UNKNOWN.")
            .Produces<MeterStatusEvent>(StatusCodes.Status200OK, OpenApiSetup.EventStream)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/hes/service/meter-status/stream", AllStatusesAsync)
            .WithSummary("Status of every meter: one `meter-status` event per meter at connect, then every change")
            .Produces<MeterStatusEvent>(StatusCodes.Status200OK, OpenApiSetup.EventStream);
    }

    private static Task<IResult> AllMetersAsync(HttpContext context, ITelemetryAccess access, HesFamily family, SseStreams sse) =>
        sse.StreamReadingsAsync(context, SubjectPattern.All, access.Resolve(context), family.ReadingsSse);

    private static async Task<IResult> OneMeterAsync(HttpContext context, string meterId, DerDirectory ders, ITelemetryAccess access, HesFamily family, SseStreams sse)
    {
        var scope = access.Resolve(context);
        if (!Problems.TryValidateId(meterId, "meter id", out var invalid))
        {
            return invalid!;
        }

        if (!ders.TryFindMeter(meterId, scope, out var meter, out var problem))
        {
            return problem!;
        }

        return await sse.StreamReadingsAsync(context, SubjectPattern.Parse(meter.Subject), scope, family.ReadingsSse);
    }

    private static async Task<IResult> OneStatusAsync(HttpContext context, string meterId, DerDirectory ders, ITelemetryAccess access, RegisteredFeed<DerStatus> statuses, HesStatusFraming framing, SseStreams sse)
    {
        var scope = access.Resolve(context);
        if (!Problems.TryValidateId(meterId, "meter id", out var invalid))
        {
            return invalid!;
        }

        if (!ders.TryFindMeter(meterId, scope, out var meter, out var problem))
        {
            return problem!;
        }

        return await StreamStatusesAsync(context, statuses, new FeedRequest(SubjectPattern.Parse(meter.Subject), scope, framing), s => s.Der.Equals(meter), sse);
    }

    private static Task<IResult> AllStatusesAsync(HttpContext context, ITelemetryAccess access, RegisteredFeed<DerStatus> statuses, HesStatusFraming framing, SseStreams sse) =>
        StreamStatusesAsync(context, statuses, new FeedRequest(SubjectPattern.All, access.Resolve(context), framing), s => s.Type == DerType.Meter, sse);

    // Statuses are state: a reconnecting client gets the present at connect, so Last-Event-ID is not needed here.
    private static async Task<IResult> StreamStatusesAsync(HttpContext context, RegisteredFeed<DerStatus> statuses, FeedRequest request, Func<DerStatus, bool> which, SseStreams sse) =>
        await sse.StreamFeedAsync(context, await statuses.OpenAsync(request, which, context.RequestAborted));
}

/// <summary>The HES <c>meter-status</c> event.</summary>
public sealed record MeterStatusEvent(string MeterNo, string? LastSeen, string Status);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(MeterStatusEvent))]
internal sealed partial class HesJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
