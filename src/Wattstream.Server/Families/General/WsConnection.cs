using System.Collections.Concurrent;
using System.Text.Json;
using Wattstream.Hub;
using Wattstream.Server.Transports.WebSockets;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Resume;
using Wattstream.Streaming.Sessions;
using static Wattstream.Server.Families.General.WsProtocol;

namespace Wattstream.Server.Families.General;

/// <summary>
/// One <c>/ws</c> connection's subscriptions: each names a registered feed by its kind (readings by default) and a
/// subject pattern; the feed applies the caller's scope and resume. This class knows no feed by name.
/// </summary>
internal sealed class WsConnection(
    StreamSession session,
    FeedRegistry feeds,
    IFeedFraming framing,
    TelemetryScope scope,
    WebSocketStreamingOptions options,
    TimeProvider time,
    CancellationToken aborted) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (FeedStream Stream, Task Pump)> _subscriptions = new(StringComparer.Ordinal);
    private long _idleSinceTicks = time.GetUtcNow().UtcTicks;

    /// <summary>Since when the connection has held no subscription; null while it holds one.</summary>
    public DateTimeOffset? IdleSince => _subscriptions.IsEmpty ? new DateTimeOffset(Interlocked.Read(ref _idleSinceTicks), TimeSpan.Zero) : null;

    public async ValueTask HandleAsync(ReadOnlyMemory<byte> text)
    {
        WsRequest request;
        try
        {
            request = WsRequest.Parse(text.Span);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            await ErrorAsync(null, "malformed_message", $"Not a JSON object of this protocol: {e.Message}");
            return;
        }

        switch (ParseClientMessage(request.Type))
        {
            case ClientMessage.Subscribe:
                await SubscribeAsync(request);
                break;
            case ClientMessage.Unsubscribe:
                await UnsubscribeAsync(request);
                break;
            case ClientMessage.Ping:
                await session.SendAsync(WsMessages.Write(w =>
                {
                    w.WriteString("type", ServerMessage.Pong);
                    if (request.Data is { } data)
                    {
                        w.WritePropertyName("data");
                        w.WriteRawValue(data);
                    }
                }));
                break;
            case ClientMessage.Missing:
                await ErrorAsync(request.Id, "malformed_message", "Every message needs a \"type\".");
                break;
            default:
                await ErrorAsync(request.Id, "unknown_type", $"Unknown message type '{request.Type}'; use subscribe, unsubscribe or ping.");
                break;
        }
    }

    private async Task SubscribeAsync(WsRequest request)
    {
        if (string.IsNullOrEmpty(request.Id))
        {
            await ErrorAsync(null, "missing_id", "subscribe needs an \"id\" that names the subscription.");
            return;
        }

        if (_subscriptions.ContainsKey(request.Id))
        {
            await ErrorAsync(request.Id, "duplicate_id", $"A subscription '{request.Id}' exists; unsubscribe it first or pick another id.");
            return;
        }

        if (_subscriptions.Count >= options.MaxSubscriptionsPerConnection)
        {
            await ErrorAsync(request.Id, "too_many_subscriptions", $"At most {options.MaxSubscriptionsPerConnection} subscriptions per connection.");
            return;
        }

        if (!SubjectPattern.TryParse(request.Subject ?? ">", out var pattern, out var patternError))
        {
            await ErrorAsync(request.Id, "bad_subject", patternError);
            return;
        }

        if (!scope.CouldSee(pattern))
        {
            await ErrorAsync(request.Id, "forbidden_subject", $"'{pattern.Pattern}' matches nothing this token may read.");
            return;
        }

        if (feeds.Find(request.Kind) is not { } feed)
        {
            await ErrorAsync(request.Id, "unknown_kind", $"kind must be one of {feeds.Kinds} (\"{ReadingsFeed.KindName}\" is the default), not '{request.Kind}'.");
            return;
        }

        var opening = await feed.OpenAsync(new FeedRequest(pattern, scope, framing) { LastEventId = request.LastEventId, Format = request.Format }, aborted);
        if (opening.Stream is not { } stream)
        {
            await ErrorAsync(request.Id, opening.ErrorCode!, opening.Error!);
            return;
        }

        await AckAsync(request.Id, pattern, feed, stream);
        _subscriptions[request.Id] = (stream, stream.PumpAsync(session));
    }

    private ValueTask AckAsync(string id, SubjectPattern pattern, IFeed feed, FeedStream stream) =>
        session.SendAsync(WsMessages.Write(w =>
        {
            w.WriteString("type", ServerMessage.Subscribed);
            w.WriteString("id", id);
            w.WriteString("subject", pattern.Pattern);
            w.WriteString("kind", feed.Kind);
            if (stream.Format is { } format)
            {
                w.WriteString("format", format);
            }

            if (stream.Outcome is ResumeOutcome.Complete or ResumeOutcome.Gap)
            {
                w.WriteString("resume", stream.Outcome == ResumeOutcome.Complete ? "complete" : "too_old");
                if (stream.FromStore > 0)
                {
                    w.WriteNumber("fromHistory", stream.FromStore);
                }

                if (stream.Gap?.OldestAvailable is { } oldest)
                {
                    w.WriteString("oldestAvailableId", oldest.ToString());
                }
            }
        }));

    private async Task UnsubscribeAsync(WsRequest request)
    {
        if (request.Id is null || !_subscriptions.TryRemove(request.Id, out var entry))
        {
            await ErrorAsync(request.Id, "unknown_subscription", $"No subscription '{request.Id}'.");
            return;
        }

        entry.Stream.Dispose();
        if (_subscriptions.IsEmpty)
        {
            Interlocked.Exchange(ref _idleSinceTicks, time.GetUtcNow().UtcTicks);
        }

        await entry.Pump;
        await session.SendAsync(WsMessages.Write(w =>
        {
            w.WriteString("type", ServerMessage.Unsubscribed);
            w.WriteString("id", request.Id);
        }));
    }

    private ValueTask ErrorAsync(string? id, string code, string message) => session.SendAsync(WsMessages.Error(id, code, message));

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, entry) in _subscriptions)
        {
            entry.Stream.Dispose();
        }

        await Task.WhenAll(_subscriptions.Values.Select(e => e.Pump));
        _subscriptions.Clear();
    }
}
