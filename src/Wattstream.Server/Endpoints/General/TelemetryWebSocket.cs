using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Server.Access;
using Wattstream.Server.Streaming;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.General;

/// <summary>
/// The general WebSocket at <c>/ws</c>: subscribe to subject patterns (optionally resuming after an event id), receive
/// readings and status changes, unsubscribe, ping. The protocol is specified message by message in docs/protocol.md.
/// </summary>
public static class TelemetryWebSocket
{
    public const int ProtocolVersion = 1;

    public static IEndpointRouteBuilder MapTelemetryWebSocket(this IEndpointRouteBuilder app)
    {
        app.Map("/ws", RunAsync)
            .WithTags("general")
            .WithSummary("WebSocket: subscribe to subject patterns and receive readings and status changes (see docs/protocol.md)");
        return app;
    }

    private static async Task<IResult> RunAsync(
        HttpContext context,
        TelemetryHub hub,
        StatusBoard board,
        ITelemetryAccess access,
        WireFormats formats,
        WebSocketSupervisor supervisor,
        IOptions<WebSocketStreamingOptions> options,
        IHostApplicationLifetime lifetime)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return Problems.NotAWebSocket(context.Request.Path);
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var session = new WebSocketSession(socket, context, options.Value);
        using var tracked = supervisor.Track(session);
        var connection = new Connection(session, hub, board, access.Resolve(context), formats, options.Value);
        try
        {
            await session.SendAsync(Message(w =>
            {
                w.WriteString("type", "hello");
                w.WriteString("server", "wattstream");
                w.WriteNumber("protocol", ProtocolVersion);
                w.WriteNumber("epoch", hub.Epoch);
                w.WriteStartArray("formats");
                w.WriteStringValue("novacore");
                w.WriteStringValue("whatwatt");
                w.WriteStringValue("dersim");
                w.WriteEndArray();
            }));
            await session.ReceiveAsync(connection.HandleAsync, lifetime.ApplicationStopping);
        }
        finally
        {
            await connection.DisposeAsync();
        }

        return TypedResults.Empty;
    }

    internal static byte[] Message(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private sealed class Connection(
        WebSocketSession session,
        TelemetryHub hub,
        StatusBoard board,
        TelemetryScope scope,
        WireFormats formats,
        WebSocketStreamingOptions options) : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, (IDisposable Subscription, Task Pump)> _subscriptions = new(StringComparer.Ordinal);

        public async ValueTask HandleAsync(ReadOnlyMemory<byte> text)
        {
            Request request;
            try
            {
                request = Request.Parse(text.Span);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                await ErrorAsync(null, "malformed_message", $"Not a JSON object of this protocol: {e.Message}");
                return;
            }

            switch (request.Type)
            {
                case "subscribe":
                    await SubscribeAsync(request);
                    break;
                case "unsubscribe":
                    await UnsubscribeAsync(request);
                    break;
                case "ping":
                    await session.SendAsync(Message(w =>
                    {
                        w.WriteString("type", "pong");
                        if (request.Data is { } data)
                        {
                            w.WritePropertyName("data");
                            w.WriteRawValue(data);
                        }
                    }));
                    break;
                case null:
                    await ErrorAsync(request.Id, "malformed_message", "Every message needs a \"type\".");
                    break;
                default:
                    await ErrorAsync(request.Id, "unknown_type", $"Unknown message type '{request.Type}'; use subscribe, unsubscribe or ping.");
                    break;
            }
        }

        private async Task SubscribeAsync(Request request)
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

            if (request.Kind == "status")
            {
                var statuses = board.Subscribe(s => scope.CanSee(s.Der) && pattern.Matches(s.Der.Subject), options.QueueCapacity);
                await AckAsync(request, pattern, "status", null);
                _subscriptions[request.Id] = (statuses, session.PumpAsync(statuses, StatusMessage));
                return;
            }

            if (request.Kind is not (null or "readings"))
            {
                await ErrorAsync(request.Id, "unknown_kind", $"kind must be \"readings\" (the default) or \"status\", not '{request.Kind}'.");
                return;
            }

            if (formats.WsFormat(request.Format) is not { } encoder)
            {
                await ErrorAsync(request.Id, "unknown_format", $"format must be novacore (the default), whatwatt or dersim, not '{request.Format}'.");
                return;
            }

            long? resumeAfter = null;
            if (request.LastEventId is { } lastEventId)
            {
                if (!EventIds.TryParse(lastEventId, out var epoch, out var id))
                {
                    await ErrorAsync(request.Id, "bad_last_event_id", $"'{lastEventId}' is not an event id; ids look like '{{epoch}}-{{sequence}}'.");
                    return;
                }

                resumeAfter = epoch == hub.Epoch ? id : -1;
            }

            var subscription = hub.Subscribe(pattern, new SubscribeOptions
            {
                ResumeAfter = resumeAfter,
                QueueCapacity = options.QueueCapacity,
                Filter = scope.EventFilter(encoder.CanEncode),
            });
            session.WatchDrops(() => subscription.Dropped);
            await AckAsync(request, pattern, request.Format ?? "novacore", subscription);
            _subscriptions[request.Id] = (subscription, session.PumpAsync(subscription, e => e.GetEncoded(encoder)));
        }

        private Task AckAsync(Request request, SubjectPattern pattern, string format, HubSubscription? subscription) =>
            session.SendAsync(Message(w =>
            {
                w.WriteString("type", "subscribed");
                w.WriteString("id", request.Id);
                w.WriteString("subject", pattern.Pattern);
                w.WriteString("kind", subscription is null ? "status" : "readings");
                if (subscription is not null)
                {
                    w.WriteString("format", format);
                }

                if (subscription?.Resume is ResumeResult.Complete or ResumeResult.TooOld)
                {
                    w.WriteString("resume", subscription.Resume == ResumeResult.Complete ? "complete" : "too_old");
                    if (subscription.OldestReplayedId is { } oldest)
                    {
                        w.WriteString("oldestAvailableId", EventIds.Format(hub.Epoch, oldest));
                    }
                }
            })).AsTask();

        private async Task UnsubscribeAsync(Request request)
        {
            if (request.Id is null || !_subscriptions.TryRemove(request.Id, out var entry))
            {
                await ErrorAsync(request.Id, "unknown_subscription", $"No subscription '{request.Id}'.");
                return;
            }

            entry.Subscription.Dispose();
            await entry.Pump;
            await session.SendAsync(Message(w =>
            {
                w.WriteString("type", "unsubscribed");
                w.WriteString("id", request.Id);
            }));
        }

        private ReadOnlyMemory<byte> StatusMessage(DerStatus status) => Message(w =>
        {
            w.WriteString("type", "status");
            w.WriteString("subject", status.Der.Subject);
            w.WriteString("der", status.Der.Der);
            w.WriteString("derType", status.Type.ToWireName());
            w.WriteString("status", status.Status.ToWireName());
            if (status.LastSeen is { } seen)
            {
                w.WriteString("lastSeen", Telemetry.Formats.HesRealtime.FormatTime(seen));
            }

            if (status.Detail is { } detail)
            {
                w.WriteString("detail", detail);
            }
        });

        private Task ErrorAsync(string? id, string code, string message) => session.SendAsync(Message(w =>
        {
            w.WriteString("type", "error");
            if (id is not null)
            {
                w.WriteString("id", id);
            }

            w.WriteString("code", code);
            w.WriteString("message", message);
        })).AsTask();

        public async ValueTask DisposeAsync()
        {
            foreach (var (_, entry) in _subscriptions)
            {
                entry.Subscription.Dispose();
            }

            await Task.WhenAll(_subscriptions.Values.Select(e => e.Pump));
            _subscriptions.Clear();
        }
    }

    /// <summary>A client message: <c>{"type": …, "id": …, "subject": …, "kind": …, "format": …, "lastEventId": …, "data": …}</c>.</summary>
    private sealed record Request(string? Type, string? Id, string? Subject, string? Kind, string? Format, string? LastEventId, byte[]? Data)
    {
        public static Request Parse(ReadOnlySpan<byte> json)
        {
            using var document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("the message must be a JSON object");
            }

            string? Text(string name) => root.TryGetProperty(name, out var p)
                ? p.ValueKind == JsonValueKind.String ? p.GetString() : throw new FormatException($"\"{name}\" must be a string")
                : null;

            return new Request(
                Text("type"),
                Text("id"),
                Text("subject"),
                Text("kind"),
                Text("format"),
                Text("lastEventId"),
                root.TryGetProperty("data", out var data) ? System.Text.Encoding.UTF8.GetBytes(data.GetRawText()) : null);
        }
    }
}
