using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Wattstream.Hub;
using Wattstream.Server.Access;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Transports.Sse;
using Wattstream.Streaming.Access;
using Wattstream.Telemetry;

namespace Wattstream.Server.Families.Hes;

/// <summary>
/// The later HES frontend's on-demand read: <c>POST /hes/service/stream</c> with meters and OBIS codes, answered as SSE
/// with one <c>reading</c> event per (meter, code), then a terminal <c>completed</c> — or <c>warning</c> when nothing
/// could be read. Values come from the hub's last reading of each meter, so the answer is immediate.
/// </summary>
internal static class HesReadRequests
{
    public const int MaxMeters = 20;
    public const int MaxObisCodes = 50;

    public static async Task<IResult> ReadAsync(HttpContext context, DerDirectory ders, ITelemetryAccess access, TelemetryHub hub, SseStreams sse)
    {
        var started = Stopwatch.GetTimestamp();
        HesReadRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, HesReadJsonContext.Default.HesReadRequest, context.RequestAborted);
        }
        catch (JsonException e)
        {
            return Problems.BadRequest("malformed_json", "Malformed JSON", e.Message);
        }

        if (Validate(request) is { } problem)
        {
            return problem;
        }

        var scope = access.Resolve(context);
        var frames = new List<ReadOnlyMemory<byte>>();
        var ok = 0;
        foreach (var meterNo in request!.Meters!)
        {
            foreach (var code in request.ObisString!)
            {
                var reading = Read(meterNo, code, ders, scope, hub);
                ok += reading.StatusCode == 0 ? 1 : 0;
                frames.Add(SseFrame.Event(null, "reading", JsonSerializer.SerializeToUtf8Bytes(
                    reading with { ElapsedMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds },
                    HesReadJsonContext.Default.HesObisReading)));
            }
        }

        var total = request.Meters!.Length * request.ObisString!.Length;
        var end = ok > 0
            ? new HesReadEnd(0, $"{ok} of {total} values read", (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds)
            : new HesReadEnd(-1, $"No value could be read ({total} requested): see each reading's statusmessage.", (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        frames.Add(SseFrame.Event(null, ok > 0 ? "completed" : "warning", JsonSerializer.SerializeToUtf8Bytes(end, HesReadJsonContext.Default.HesReadEnd)));
        await sse.SendAllAsync(context, frames);
        return TypedResults.Empty;
    }

    private static IResult? Validate(HesReadRequest? request)
    {
        if (request is null)
        {
            return Problems.BadRequest("missing_body", "No request", "Send {\"meterType\":\"MD\"|\"Non-MD\",\"meters\":[…],\"obisString\":[…]}.");
        }

        if (request.MeterType is not ("MD" or "Non-MD"))
        {
            return Problems.BadRequest("invalid_meter_type", "Unknown meter type", $"meterType must be \"MD\" or \"Non-MD\", not '{request.MeterType}'.");
        }

        if (request.Meters is not { Length: > 0 and <= MaxMeters } || request.Meters.Any(string.IsNullOrWhiteSpace))
        {
            return Problems.BadRequest("invalid_meters", "Which meters?", $"meters must list 1 to {MaxMeters} meter numbers (had {request.Meters?.Length ?? 0}).");
        }

        if (request.ObisString is not { Length: > 0 and <= MaxObisCodes } || request.ObisString.Any(string.IsNullOrWhiteSpace))
        {
            return Problems.BadRequest("invalid_obis", "Which OBIS codes?", $"obisString must list 1 to {MaxObisCodes} OBIS codes (had {request.ObisString?.Length ?? 0}).");
        }

        return null;
    }

    private static HesObisReading Read(string meterNo, string code, DerDirectory ders, TelemetryScope scope, TelemetryHub hub)
    {
        var failed = new HesObisReading(-1, meterNo, null, code, null, null, null, "", 0);
        if (!Subjects.IsValidToken(meterNo) || !ders.TryFindMeter(meterNo, scope, out var meter, out _))
        {
            return failed with { StatusMessage = $"Unknown meter '{meterNo}'." };
        }

        if (ObisCodes.Find(code) is not { } entry)
        {
            return failed with { StatusMessage = $"OBIS code '{code}' is not mapped; supported: {string.Join(", ", ObisCodes.All.Select(e => e.Code))}." };
        }

        failed = failed with { Description = Describe(entry) };
        if (hub.GetLast(meter) is not { } last)
        {
            return failed with { StatusMessage = "The meter has not reported since the hub started." };
        }

        var reading = last.Reading;
        var model = reading.TryGetProperty(PropertyNames.Make, out var make) ? JsonSerializer.Deserialize<string>(make.RawJson.Span) : null;
        string? value = null;
        if (entry.Clock is { } clock)
        {
            value = reading.TryGetProperty(clock, out var raw)
                ? JsonSerializer.Deserialize<string>(raw.RawJson.Span)
                : reading.Time.UtcDateTime.ToString(clock == PropertyNames.LocalTime ? "HH:mm:ss" : "yyyy-MM-dd", CultureInfo.InvariantCulture);
        }
        else if (reading.TryGet(entry.Quantity!.Value, entry.Unit, out var number))
        {
            value = number.ToString("0.###", CultureInfo.InvariantCulture);
        }

        return value is null
            ? failed with { MeterModel = model, Timestamp = WireTime.Format(reading.Time), StatusMessage = $"The meter does not provide {entry.Description}." }
            : new HesObisReading(0, meterNo, model, code, value, WireTime.Format(reading.Time), Describe(entry), "OK", 0);
    }

    private static string Describe(ObisCodes.Entry entry) => entry.Unit == Unit.None ? entry.Description : $"{entry.Description} [{entry.Unit.Symbol()}]";
}

/// <summary>The request body of <c>POST /hes/service/stream</c>.</summary>
internal sealed record HesReadRequest(string? MeterType, string[]? Meters, string[]? ObisString);

/// <summary>One <c>reading</c> event: a value (as text, as meters give it), or <c>statuscode</c> -1 with the reason.</summary>
internal sealed record HesObisReading(
    [property: JsonPropertyName("statuscode")] int StatusCode,
    string MeterNo,
    string? MeterModel,
    string ObisString,
    string? Value,
    string? Timestamp,
    [property: JsonPropertyName("desc")] string? Description,
    [property: JsonPropertyName("statusmessage")] string StatusMessage,
    long ElapsedMs);

/// <summary>The terminal <c>completed</c> or <c>warning</c> event.</summary>
internal sealed record HesReadEnd(
    [property: JsonPropertyName("statuscode")] int StatusCode,
    [property: JsonPropertyName("statusmessage")] string StatusMessage,
    long ElapsedMs);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HesReadRequest))]
[JsonSerializable(typeof(HesObisReading))]
[JsonSerializable(typeof(HesReadEnd))]
internal sealed partial class HesReadJsonContext : JsonSerializerContext;
