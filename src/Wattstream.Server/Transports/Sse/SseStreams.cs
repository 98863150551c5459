using System.Text.Json;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Server.Endpoints;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Feeds;
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
    /// The client's resume id: the <c>Last-Event-ID</c> header (what EventSource sends on reconnect) or <c>?lastEventId=</c>
    /// (for a first connection that resumes). Read here for every SSE stream; <see cref="ResumeIds"/> parses it.
    /// </summary>
    public static string? LastEventId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["lastEventId"].FirstOrDefault();
    }

    /// <summary>What an SSE client asks of a feed: the pattern and scope, its resume id, the format.</summary>
    public static FeedRequest FeedRequest(HttpContext context, SubjectPattern pattern, TelemetryScope scope, string? format = null) =>
        new(pattern, scope, SseFeedFraming.Instance) { LastEventId = LastEventId(context), Format = format };

    /// <summary>
    /// Streams the events matching <paramref name="pattern"/> that the caller may see (and <paramref name="filter"/> lets
    /// through) in <paramref name="encoder"/>'s frames (a wire family's own); or answers 400 when the resume id is malformed.
    /// </summary>
    public async Task<IResult> StreamReadingsAsync(HttpContext context, SubjectPattern pattern, TelemetryScope scope, WireEncoder encoder, Func<HubEvent, bool>? filter = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(encoder);
        if (!ResumeIds.TryParse(LastEventId(context), FeedIdFormat.EpochSequence, "event", out var resumeAfter, out var error))
        {
            return MalformedLastEventId(error);
        }

        var request = new ReadingStreamRequest(pattern, scope, filter is null ? encoder.CanEncode : e => encoder.CanEncode(e) && filter(e)) { ResumeAfter = resumeAfter };
        var stream = await readings.OpenAsync(request, context.RequestAborted);
        ReadOnlyMemory<byte>[] first = stream.Gap is { } gap ? [GapFrame(gap)] : [];
        await StreamAsync(context, stream.Subscription, e => e.GetEncoded(encoder), first);
        return TypedResults.Empty;
    }

    /// <summary>Streams a feed the client opened (<see cref="IFeed.OpenAsync"/>), or answers 400 with why it could not be opened.</summary>
    public async Task<IResult> StreamFeedAsync(HttpContext context, FeedOpening opening)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(opening);
        if (opening.Stream is not { } stream)
        {
            return opening.ErrorCode == "bad_last_event_id"
                ? MalformedLastEventId(opening.Error!)
                : Problems.BadRequest(opening.ErrorCode!.Replace("unknown_", "invalid_", StringComparison.Ordinal), "Malformed request", opening.Error!);
        }

        ReadOnlyMemory<byte>[] first = stream.Gap is { } gap ? [GapFrame(gap)] : [];
        await StreamAsync(context, stream, stream.PumpAsync, first);
        return TypedResults.Empty;
    }

    /// <summary>Streams <paramref name="reader"/> after <paramref name="first"/>, until either side ends; disposes the reader.</summary>
    public Task StreamAsync<T>(HttpContext context, IEventReader<T> reader, Func<T, ReadOnlyMemory<byte>> encode, params ReadOnlyMemory<byte>[] first) =>
        StreamAsync(context, reader, session => session.PumpAsync(reader, encode), first);

    // The response's headers and retry hint, then a supervised session that pumps the stream; disposes it at the end.
    private async Task StreamAsync(HttpContext context, IDisposable stream, Func<StreamSession, Task> pump, ReadOnlyMemory<byte>[] first)
    {
        ArgumentNullException.ThrowIfNull(context);
        using (stream)
        {
            StartResponse(context);
            if (Endpoints.HeadRequests.IsHead(context))
            {
                await context.Response.StartAsync(context.RequestAborted); // the headers, then done
                return;
            }

            using var session = supervisor.Open(new SseTransport(context), Access.StreamCredentials.Of(context), StreamFamilies.Of(context));
            await session.SendAsync([_retry, .. first]); // the headers leave now: the stream is open for the client
            await pump(session);
            if (lifetime.ApplicationStopping.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested && _retry.Length > 0)
            {
                await session.SendAsync(_retry); // the hub is going: a last reminder of when to come back (and resume)
            }

            logger.LogDebug("SSE stream {Path} ended after {Frames} frames", context.Request.Path, session.FramesSent);
        }
    }

    private static IResult MalformedLastEventId(string error) => Problems.BadRequest("invalid_last_event_id", "Malformed Last-Event-ID", error);

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
