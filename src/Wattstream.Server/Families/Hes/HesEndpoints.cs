using System.Text.Json;
using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Hub.Status;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Transports.Sse;
using Wattstream.Telemetry;

namespace Wattstream.Server.Families.Hes;

/// <summary>
/// The head-end system's backend SSE endpoints, at the paths of the frontend's notes (<c>/api/sse/…</c>) and of the
/// real backend it calls (<c>/hes/service/…</c>). Readings are unnamed events of labelled values; statuses are
/// <c>meter-status</c> events, sent at connect and on every change.
/// </summary>
internal static class HesEndpoints
{
    public const string MeterStatusEvent = "meter-status";

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

    private static async Task<IResult> OneStatusAsync(HttpContext context, string meterId, DerDirectory ders, ITelemetryAccess access, StatusBoard board, TelemetryHub hub, SseStreams sse)
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

        await StreamStatusesAsync(context, board.Subscribe(s => s.Der.Equals(meter)), hub.Epoch, sse);
        return TypedResults.Empty;
    }

    private static async Task<IResult> AllStatusesAsync(HttpContext context, ITelemetryAccess access, StatusBoard board, TelemetryHub hub, SseStreams sse)
    {
        var scope = access.Resolve(context);
        await StreamStatusesAsync(context, board.Subscribe(s => s.Type == DerType.Meter && scope.CanSee(s.Der)), hub.Epoch, sse);
        return TypedResults.Empty;
    }

    // Statuses are state: a reconnecting client gets the present at connect, so Last-Event-ID is not needed here.
    private static Task StreamStatusesAsync(HttpContext context, FeedSubscription<DerStatus> subscription, long epoch, SseStreams sse) =>
        sse.StreamAsync(context, subscription, s => StatusFrame(s, epoch));

    private static byte[] StatusFrame(DerStatus status, long epoch) =>
        SseFrame.Event(new HubEventId(epoch, status.Version), MeterStatusEvent, JsonSerializer.SerializeToUtf8Bytes(ToMeterStatus(status), HesJsonContext.Default.MeterStatusEvent));

    private static MeterStatusEvent ToMeterStatus(DerStatus status) =>
        new(status.Der.Der, status.LastSeen is { } seen ? WireTime.Format(seen) : null, status.Status.ToWireName());
}

/// <summary>The HES <c>meter-status</c> event.</summary>
public sealed record MeterStatusEvent(string MeterNo, string? LastSeen, string Status);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(MeterStatusEvent))]
internal sealed partial class HesJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
