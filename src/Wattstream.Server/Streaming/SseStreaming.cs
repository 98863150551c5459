using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Server.Access;
using Wattstream.Storage;

namespace Wattstream.Server.Streaming;

/// <summary>
/// Serves a hub subscription as an SSE response: resume from <c>Last-Event-ID</c> (or <c>?lastEventId=</c>), an explicit
/// <c>gap</c> event when the id is older than the hub holds, then the events, with heartbeats while idle.
/// </summary>
public sealed class SseStreaming(TelemetryHub hub, IOptions<SseOptions> options, SseHeartbeats heartbeats, IServiceProvider services, ILogger<SseStreaming> logger)
{
    /// <summary>At most this many events are replayed from history on one resume.</summary>
    public const int MaxHistoryReplay = 50_000;

    public const string GapEventName = "gap";

    public SseOptions Options { get; } = options.Value;

    /// <summary>
    /// Streams the events matching <paramref name="pattern"/> that the caller may see (and <paramref name="filter"/> lets
    /// through) in <paramref name="encoder"/>'s frames; or answers 400 when the resume id is malformed.
    /// </summary>
    public async Task<IResult> StreamAsync(HttpContext context, SubjectPattern pattern, TelemetryScope scope, WireEncoder encoder, Func<HubEvent, bool>? filter = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(scope);
        if (!TryGetResumeId(context, out var lastEventId, out var problem))
        {
            return problem!;
        }

        long? resumeAfter = null;
        var (lastEpoch, lastId) = (0L, 0L);
        if (lastEventId is not null)
        {
            // Validated above. An id of another run of the hub cannot be placed in this one: older than anything held.
            resumeAfter = EventIds.TryParse(lastEventId, out lastEpoch, out lastId) && lastEpoch == hub.Epoch ? lastId : -1;
        }

        var accept = scope.EventFilter(filter is null ? e => encoder.CanEncode(e) : e => encoder.CanEncode(e) && filter(e));
        var subscription = hub.Subscribe(pattern, new SubscribeOptions { ResumeAfter = resumeAfter, Filter = accept });
        var first = new List<ReadOnlyMemory<byte>>();
        if (subscription.Resume == ResumeResult.TooOld)
        {
            // Older than the ring: what history holds between the client's id and the ring, then the ring, then live.
            var history = await FromHistoryAsync(pattern, accept, new EventPosition(lastEpoch, lastId), subscription, context.RequestAborted);
            if (history is null || history.Count == 0 || history.Count == MaxHistoryReplay)
            {
                first.Add(GapFrame(lastEventId!, subscription));
            }

            foreach (var e in history ?? [])
            {
                first.Add(e.GetEncoded(encoder));
            }
        }

        await RunAsync(context, subscription, e => e.GetEncoded(encoder), first);
        return TypedResults.Empty;
    }

    private async Task<List<HubEvent>?> FromHistoryAsync(SubjectPattern pattern, Func<HubEvent, bool>? accept, EventPosition after, HubSubscription subscription, CancellationToken cancellationToken)
    {
        if (services.GetService<IReadingStore>() is not { } store)
        {
            return null;
        }

        var ders = hub.Ders.Where(d => pattern.Matches(d.Address.Subject)).Select(d => d.Address).ToArray();
        var before = new EventPosition(hub.Epoch, subscription.OldestReplayedId ?? ((subscription.ResumedFromId ?? 0) + 1));
        var stored = await store.ReadEventsAsync(ders, after, before, MaxHistoryReplay, cancellationToken);
        return stored
            .Select(s => HubEvent.FromHistory(s.Event.Epoch, s.Event.Sequence, s.Reading))
            .Where(e => accept is null || accept(e))
            .ToList();
    }

    /// <summary>Streams <paramref name="subscription"/> and disposes it at the end.</summary>
    public async Task RunAsync<T>(HttpContext context, IEventReader<T> subscription, Func<T, ReadOnlyMemory<byte>> encode, IReadOnlyList<ReadOnlyMemory<byte>>? firstFrames = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        using (subscription)
        {
            try
            {
                var connection = await SseConnection.StartAsync(context, Options);
                using var tracked = heartbeats.Track(connection);
                foreach (var frame in firstFrames ?? [])
                {
                    await connection.WriteFrameAsync(frame);
                }

                await connection.PumpAsync(subscription, encode);
                logger.LogDebug("SSE stream {Path} ended after {Events} events", context.Request.Path, connection.EventsWritten);
            }
            catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException)
            {
                // The client went away mid-write.
            }
        }
    }

    /// <summary>The id a reconnecting client sent, from the <c>Last-Event-ID</c> header or the <c>lastEventId</c> query parameter.</summary>
    public static bool TryGetResumeId(HttpContext context, out string? lastEventId, out IResult? problem)
    {
        ArgumentNullException.ThrowIfNull(context);
        problem = null;
        lastEventId = context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["lastEventId"].FirstOrDefault();
        if (string.IsNullOrEmpty(lastEventId))
        {
            lastEventId = null;
            return true;
        }

        if (EventIds.TryParse(lastEventId, out _, out _))
        {
            return true;
        }

        problem = TypedResults.Problem(
            statusCode: StatusCodes.Status400BadRequest,
            title: "Malformed Last-Event-ID",
            detail: $"'{Truncate(lastEventId)}' is not an event id of this server; ids look like '{{epoch}}-{{sequence}}', e.g. '1763900000000-42'.");
        return false;
    }

    // The gap event's own id is where the stream continues from, so a client that drops right after it resumes exactly.
    private ReadOnlyMemory<byte> GapFrame(string lastEventId, HubSubscription subscription)
    {
        var oldestReplayedId = subscription.OldestReplayedId;
        var payload = JsonSerializer.Serialize(new GapEvent(
            "too_old",
            lastEventId,
            oldestReplayedId is { } oldest ? EventIds.Format(hub.Epoch, oldest) : null,
            "Events after lastEventId are no longer held (or it is from an earlier run of the hub); what is still held follows, then live events."),
            StreamingJsonContext.Default.GapEvent);
        return Encoding.UTF8.GetBytes($"id: {EventIds.Format(hub.Epoch, subscription.ResumedFromId ?? 0)}\nevent: {GapEventName}\ndata: {payload}\n\n");
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "…";
}

/// <summary>Sent as <c>event: gap</c> when a client resumes from an id the hub no longer holds.</summary>
public sealed record GapEvent(string Reason, string LastEventId, string? OldestAvailableId, string Message);
