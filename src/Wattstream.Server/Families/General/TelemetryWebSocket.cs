using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Wattstream.Alerts.Delivery;
using Wattstream.Energy.Summaries;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Server.Access;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Transports.WebSockets;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Resume;
using Wattstream.Streaming.Sessions;
using Wattstream.Telemetry;
using static Wattstream.Server.Families.General.WsProtocol;

namespace Wattstream.Server.Families.General;

/// <summary>
/// The general WebSocket at <c>/ws</c>: subscribe to subject patterns (optionally resuming after an event id, from the
/// ring or stored history), receive readings and status changes, unsubscribe, ping. The protocol is specified message
/// by message in docs/protocol.md.
/// </summary>
internal static class TelemetryWebSocket
{
    public static void Map(IEndpointRouteBuilder app, string tag)
    {
        app.Map("/ws", RunAsync)
            .WithTags(tag)
            .WithSummary("WebSocket: subscribe to subject patterns and receive readings and status changes (see docs/protocol.md)");
    }

    private static async Task<IResult> RunAsync(
        HttpContext context,
        GeneralFamily family,
        ReadingStreams readings,
        StatusBoard board,
        AlertFeed alerts,
        SummaryBoard summaries,
        ITelemetryAccess access,
        WebSocketStreams webSockets,
        IOptions<WebSocketStreamingOptions> options,
        TimeProvider time)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return Problems.NotAWebSocket(context.Request.Path);
        }

        using var socket = await webSockets.AcceptAsync(context);
        var connection = new Connection(socket.Session, family, readings, board, alerts, summaries, access.Resolve(context), options.Value, time, context.RequestAborted);
        try
        {
            await socket.Session.SendAsync(Message(w =>
            {
                w.WriteString("type", ServerMessage.Hello);
                w.WriteString("server", "wattstream");
                w.WriteNumber("protocol", WsProtocol.Version);
                w.WriteNumber("epoch", readings.Hub.Epoch);
                w.WriteStartArray("formats");
                foreach (var format in family.Formats.All)
                {
                    w.WriteStringValue(format.Name);
                }

                w.WriteEndArray();
            }));
            using var closed = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            var idle = CloseWhenIdleAsync(connection, socket, options.Value.IdleWithoutSubscription, time, closed.Token);
            await socket.ReceiveAsync(connection.HandleAsync);
            await closed.CancelAsync();
            await idle;
        }
        finally
        {
            await connection.DisposeAsync();
        }

        return TypedResults.Empty;
    }

    // A connection without a subscription holds a socket, a session and a receive buffer for nothing: it gets the
    // timeout to subscribe (and again after its last unsubscribe), then it is closed.
    private static async Task CloseWhenIdleAsync(Connection connection, WebSocketStream socket, TimeSpan timeout, TimeProvider time, CancellationToken closed)
    {
        try
        {
            while (true)
            {
                var idleFor = connection.IdleSince is { } since ? time.GetUtcNow() - since : TimeSpan.Zero;
                if (connection.IdleSince is not null && idleFor >= timeout)
                {
                    await socket.Session.CloseAsync(new CloseReason(CloseKind.Idle, $"no subscription for {timeout.TotalSeconds:0.#} s"));
                    return;
                }

                await Task.Delay(connection.IdleSince is null ? timeout : timeout - idleFor, time, closed);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static byte[] Message(Action<Utf8JsonWriter> write)
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
        StreamSession session,
        GeneralFamily family,
        ReadingStreams readings,
        StatusBoard board,
        AlertFeed alerts,
        SummaryBoard summaries,
        TelemetryScope scope,
        WebSocketStreamingOptions options,
        TimeProvider time,
        CancellationToken aborted) : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, (IDisposable Subscription, Task Pump)> _subscriptions = new(StringComparer.Ordinal);
        private long _idleSinceTicks = time.GetUtcNow().UtcTicks;

        /// <summary>Since when the connection has held no subscription; null while it holds one.</summary>
        public DateTimeOffset? IdleSince => _subscriptions.IsEmpty ? new DateTimeOffset(Interlocked.Read(ref _idleSinceTicks), TimeSpan.Zero) : null;

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

            switch (ParseClientMessage(request.Type))
            {
                case ClientMessage.Subscribe:
                    await SubscribeAsync(request);
                    break;
                case ClientMessage.Unsubscribe:
                    await UnsubscribeAsync(request);
                    break;
                case ClientMessage.Ping:
                    await session.SendAsync(Message(w =>
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

            if (!scope.CouldSee(pattern))
            {
                await ErrorAsync(request.Id, "forbidden_subject", $"'{pattern.Pattern}' matches nothing this token may read.");
                return;
            }

            var kind = ParseKind(request.Kind);
            if (kind == SubscriptionKind.Status)
            {
                var statuses = board.Subscribe(s => scope.CanSee(s.Der) && pattern.Matches(s.Der.Subject));
                await AckAsync(request.Id, pattern, kind, format: null, resumed: null);
                _subscriptions[request.Id] = (statuses, session.PumpAsync(statuses, StatusMessage));
                return;
            }

            if (kind == SubscriptionKind.Alerts)
            {
                await SubscribeAlertsAsync(request, pattern);
                return;
            }

            if (kind == SubscriptionKind.Summary)
            {
                // Summaries are state, like statuses: the present summary of each matching site, then every new one.
                var feed = summaries.Subscribe(s => scope.CanSeeSite(s.Org, s.Site) && (pattern.Matches(s.Subject) || pattern.CouldMatch(["orgs", s.Org, "sites", s.Site])));
                await AckAsync(request.Id, pattern, kind, format: null, resumed: null);
                _subscriptions[request.Id] = (feed, session.PumpAsync(feed, SummaryMessage));
                return;
            }

            if (kind == SubscriptionKind.Unknown)
            {
                await ErrorAsync(request.Id, "unknown_kind", $"kind must be \"{Name(SubscriptionKind.Readings)}\" (the default), \"{Name(SubscriptionKind.Status)}\", \"{Name(SubscriptionKind.Alerts)}\" or \"{Name(SubscriptionKind.Summary)}\", not '{request.Kind}'.");
                return;
            }

            if (family.Formats.Find(request.Format) is not { } format)
            {
                var names = string.Join(", ", family.Formats.All.Select(f => f.Name));
                await ErrorAsync(request.Id, "unknown_format", $"format must be one of {names} (default {family.Formats.Default.Name}), not '{request.Format}'.");
                return;
            }

            if (!ReadingStreams.TryParseResumeId(request.LastEventId, out var resumeAfter))
            {
                await ErrorAsync(request.Id, "bad_last_event_id", $"'{request.LastEventId}' is not an event id; ids look like '{{epoch}}-{{sequence}}'.");
                return;
            }

            var encoder = family.ReadingEncoder(family.Formats.ForScope(format, scope));
            var stream = await readings.OpenAsync(new ReadingStreamRequest(pattern, scope, encoder.CanEncode) { ResumeAfter = resumeAfter }, aborted);
            await AckAsync(request.Id, pattern, kind, format.Name, stream);
            _subscriptions[request.Id] = (stream.Subscription, session.PumpAsync(stream.Subscription, e => e.GetEncoded(encoder)));
        }

        // Alerts of what the pattern covers (a site's, a DER's), resumable after an alert id: the feed's resume, as for SSE.
        private async Task SubscribeAlertsAsync(Request request, SubjectPattern pattern)
        {
            long resumeAfter = 0;
            if (request.LastEventId is { } text && !long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out resumeAfter))
            {
                await ErrorAsync(request.Id, "bad_last_event_id", $"'{text}' is not an alert id; alert ids are whole numbers.");
                return;
            }

            var filter = Endpoints.Alerts.AlertAccess.Filter(scope, pattern);
            var subscription = request.LastEventId is null
                ? alerts.Subscribe(filter)
                : await alerts.SubscribeAsync(filter, Endpoints.Alerts.AlertAccess.Query(scope), resumeAfter, cancellationToken: aborted);
            await AckAsync(request.Id!, pattern, SubscriptionKind.Alerts, format: null, resumed: null);
            _subscriptions[request.Id!] = (subscription, session.PumpAsync(subscription, AlertMessage));
        }

        private static readonly object AlertFraming = new();
        private static readonly object SummaryFraming = new();

        /// <summary><c>{"type":"summary","subject":"orgs.….summary.json.v1","data":{…the summary…}}</c>, made once per summary.</summary>
        private static ReadOnlyMemory<byte> SummaryMessage(SiteSummary summary) => summary.GetEncoded(SummaryFraming, s => Message(w =>
        {
            w.WriteString("type", ServerMessage.Summary);
            w.WriteString("subject", s.Subject);
            w.WritePropertyName("data");
            w.WriteRawValue(s.Json.Span, skipInputValidation: true);
        }));

        /// <summary><c>{"type":"alert","id":"42","subject":"orgs.….alerts.json.v1","data":{…the alert…}}</c>, made once per alert.</summary>
        private static ReadOnlyMemory<byte> AlertMessage(Alert alert) => alert.GetEncoded(AlertFraming, a => Message(w =>
        {
            w.WriteString("type", ServerMessage.Alert);
            w.WriteString("id", a.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("subject", a.Subject);
            w.WritePropertyName("data");
            w.WriteRawValue(a.Json.Span, skipInputValidation: true);
        }));

        private ValueTask AckAsync(string id, SubjectPattern pattern, SubscriptionKind kind, string? format, ReadingStream? resumed) =>
            session.SendAsync(Message(w =>
            {
                w.WriteString("type", ServerMessage.Subscribed);
                w.WriteString("id", id);
                w.WriteString("subject", pattern.Pattern);
                w.WriteString("kind", Name(kind));
                if (format is not null)
                {
                    w.WriteString("format", format);
                }

                if (resumed is { Outcome: ResumeOutcome.Complete or ResumeOutcome.Gap } stream)
                {
                    w.WriteString("resume", stream.Outcome == ResumeOutcome.Complete ? "complete" : "too_old");
                    if (stream.FromHistory > 0)
                    {
                        w.WriteNumber("fromHistory", stream.FromHistory);
                    }

                    if (stream.Gap?.OldestAvailable is { } oldest)
                    {
                        w.WriteString("oldestAvailableId", oldest.ToString());
                    }
                }
            }));

        private async Task UnsubscribeAsync(Request request)
        {
            if (request.Id is null || !_subscriptions.TryRemove(request.Id, out var entry))
            {
                await ErrorAsync(request.Id, "unknown_subscription", $"No subscription '{request.Id}'.");
                return;
            }

            entry.Subscription.Dispose();
            if (_subscriptions.IsEmpty)
            {
                Interlocked.Exchange(ref _idleSinceTicks, time.GetUtcNow().UtcTicks);
            }

            await entry.Pump;
            await session.SendAsync(Message(w =>
            {
                w.WriteString("type", ServerMessage.Unsubscribed);
                w.WriteString("id", request.Id);
            }));
        }

        private static ReadOnlyMemory<byte> StatusMessage(DerStatus status) => Message(w =>
        {
            w.WriteString("type", ServerMessage.Status);
            w.WriteString("subject", status.Der.Subject);
            w.WriteString("der", status.Der.Der);
            w.WriteString("derType", status.Type.ToWireName());
            w.WriteString("status", status.Status.ToWireName());
            if (status.LastSeen is { } seen)
            {
                w.WriteString("lastSeen", WireTime.Format(seen));
            }

            if (status.Detail is { } detail)
            {
                w.WriteString("detail", detail);
            }
        });

        private ValueTask ErrorAsync(string? id, string code, string message) => session.SendAsync(Message(w =>
        {
            w.WriteString("type", ServerMessage.Error);
            if (id is not null)
            {
                w.WriteString("id", id);
            }

            w.WriteString("code", code);
            w.WriteString("message", message);
        }));

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
