using System.Text.Json;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Server.Endpoints;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Resume;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Server.Transports.Sse;

/// <summary>
/// Serves streams as SSE responses: the headers and <c>retry:</c> hint, then a supervised session of the streaming core.
/// Reading streams resume from <c>Last-Event-ID</c> (or <c>?lastEventId=</c>) through the core, with a <c>gap</c> event
/// when what the client missed is gone.
/// </summary>
public sealed class SseStreams(ReadingStreams readings, StreamSupervisor supervisor, IOptions<SseOptions> options, IHostApplicationLifetime lifetime, ILogger<SseStreams> logger)
{
    public const string GapEventName = "gap";

    private readonly byte[] _retry = options.Value.RetryMilliseconds > 0 ? SseFrame.Retry(options.Value.RetryMilliseconds) : [];

    /// <summary>
    /// Streams the events matching <paramref name="pattern"/> that the caller may see (and <paramref name="filter"/> lets
    /// through) in <paramref name="encoder"/>'s frames; or answers 400 when the resume id is malformed.
    /// </summary>
    public async Task<IResult> StreamReadingsAsync(HttpContext context, SubjectPattern pattern, TelemetryScope scope, WireEncoder encoder, Func<HubEvent, bool>? filter = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(encoder);
        var lastEventId = context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["lastEventId"].FirstOrDefault();
        if (!ReadingStreams.TryParseResumeId(lastEventId, out var resumeAfter))
        {
            return Problems.BadRequest(
                "invalid_last_event_id",
                "Malformed Last-Event-ID",
                $"'{Problems.Truncate(lastEventId)}' is not an event id of this server; ids look like '{{epoch}}-{{sequence}}', e.g. '1763900000000-42'.");
        }

        var request = new ReadingStreamRequest(pattern, scope, filter is null ? encoder.CanEncode : e => encoder.CanEncode(e) && filter(e)) { ResumeAfter = resumeAfter };
        var stream = await readings.OpenAsync(request, context.RequestAborted);
        ReadOnlyMemory<byte>[] first = stream.Gap is { } gap ? [GapFrame(gap)] : [];
        await StreamAsync(context, stream.Subscription, e => e.GetEncoded(encoder), first);
        return TypedResults.Empty;
    }

    /// <summary>Streams <paramref name="reader"/> after <paramref name="first"/>, until either side ends; disposes the reader.</summary>
    public async Task StreamAsync<T>(HttpContext context, IEventReader<T> reader, Func<T, ReadOnlyMemory<byte>> encode, params ReadOnlyMemory<byte>[] first)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(reader);
        using (reader)
        {
            StartResponse(context);
            if (Endpoints.HeadRequests.IsHead(context))
            {
                await context.Response.StartAsync(context.RequestAborted); // the headers, then done
                return;
            }

            using var session = supervisor.Open(new SseTransport(context), Access.StreamCredentials.Of(context), StreamFamilies.Of(context));
            await session.SendAsync([_retry, .. first]); // the headers leave now: the stream is open for the client
            await session.PumpAsync(reader, encode);
            if (lifetime.ApplicationStopping.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested && _retry.Length > 0)
            {
                await session.SendAsync(_retry); // the hub is going: a last reminder of when to come back (and resume)
            }

            logger.LogDebug("SSE stream {Path} ended after {Frames} frames", context.Request.Path, session.FramesSent);
        }
    }

    /// <summary>A finite stream: the headers, the <c>retry:</c> hint and <paramref name="frames"/> in one write, then the end.</summary>
    public async Task SendAllAsync(HttpContext context, IReadOnlyList<ReadOnlyMemory<byte>> frames)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(frames);
        StartResponse(context);
        using var session = supervisor.Open(new SseTransport(context), Access.StreamCredentials.Of(context), StreamFamilies.Of(context));
        await session.SendAsync([_retry, .. frames]);
    }

    private static void StartResponse(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers.Connection = "keep-alive";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    // The gap event's own id is where the stream continues from, so a client that drops right after it resumes exactly.
    private static byte[] GapFrame(ResumeGap gap)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(
            new GapEvent(
                "too_old",
                gap.LastEventId.ToString(),
                gap.OldestAvailable?.ToString(),
                "Events after lastEventId are no longer held (or it is from an earlier run of the hub); what is still held follows, then live events."),
            SseJsonContext.Default.GapEvent);
        return SseFrame.Event(gap.ContinuesAfter, GapEventName, payload);
    }
}

/// <summary>Sent as <c>event: gap</c> when a client resumes from an id the hub no longer holds.</summary>
public sealed record GapEvent(string Reason, string LastEventId, string? OldestAvailableId, string Message);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(GapEvent))]
internal sealed partial class SseJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
