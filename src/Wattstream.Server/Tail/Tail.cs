using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Spectre.Console;
using Wattstream.Sources.Http;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Tail;

internal sealed record TailOptions(Uri Url, string? Password, string? Token, string Subject, bool Json, int? Count);

internal sealed class TailException(string message) : Exception(message);

/// <summary>One tail: the connection loop, the parsing of each event into rows, and the screen.</summary>
internal sealed class Tail(TailOptions options)
{
    private readonly SortedDictionary<string, (string Type, string Time, string Values)> _rows = new(StringComparer.Ordinal);
    private string _status = "connecting…";
    private int _events;
    private Action? _refresh;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (options.Json)
        {
            await FollowAsync(cancellationToken);
            return;
        }

        var table = new Table().Border(TableBorder.Rounded).Expand();
        table.AddColumns("DER", "type", "time", "values");
        await AnsiConsole.Live(table).AutoClear(false).StartAsync(async context =>
        {
            _refresh = () =>
            {
                table.Rows.Clear();
                foreach (var (der, row) in _rows)
                {
                    table.AddRow(Markup.Escape(der), Markup.Escape(row.Type), Markup.Escape(row.Time), Markup.Escape(row.Values));
                }

                table.Caption($"{Markup.Escape(options.Url.GetLeftPart(UriPartial.Path))} · {Markup.Escape(_status)} · {_events} events");
                context.Refresh();
            };
            _refresh();
            await FollowAsync(cancellationToken);
        });
    }

    private bool Done => options.Count is { } n && _events >= n;

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        string? lastEventId = null;
        var attempt = 0;
        while (!Done)
        {
            try
            {
                if (options.Url.Scheme is "ws" or "wss")
                {
                    await FollowWebSocketAsync(lastEventId, id => lastEventId = id, cancellationToken);
                }
                else
                {
                    await FollowSseAsync(lastEventId, id => lastEventId = id, cancellationToken);
                }

                attempt = 0;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or WebSocketException && !cancellationToken.IsCancellationRequested)
            {
                if (++attempt > 30)
                {
                    throw new TailException($"gave up after 30 attempts: {e.Message}");
                }

                Say($"disconnected ({e.Message}); reconnecting{(lastEventId is null ? "" : $" with Last-Event-ID {lastEventId}")}…");
            }

            if (!Done)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 5)), cancellationToken);
            }
        }
    }

    private async Task FollowSseAsync(string? lastEventId, Action<string> seen, CancellationToken cancellationToken)
    {
        using var handler = options.Password is { } password
            ? (HttpMessageHandler)new DeviceAuthClientHandler(password, scheme: AuthScheme.Auto) { InnerHandler = new SocketsHttpHandler() }
            : new SocketsHttpHandler();
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, options.Url);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (options.Token is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
        {
            var why = (options.Password ?? options.Token) is null ? "the stream needs --password (a device) or --token (the hub, Novacore)" : "the credentials were refused";
            throw new TailException($"{(int)response.StatusCode}: {why}.");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new TailException($"{(int)response.StatusCode} {response.ReasonPhrase}: {Excerpt.Of(await response.Content.ReadAsStringAsync(cancellationToken), 200)}");
        }

        Say(lastEventId is null ? "connected" : $"reconnected, resumed after {lastEventId}");
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await foreach (var item in SseParser.Create(body).EnumerateAsync(cancellationToken))
        {
            if (item.EventId is { Length: > 0 } id)
            {
                seen(id);
            }

            if (item.EventType is "auth" or "gap")
            {
                Say($"{item.EventType}: {Excerpt.Of(item.Data, 200)}");
                continue;
            }

            Show(item.Data, item.EventType);
            if (Done)
            {
                return;
            }
        }

        throw new IOException("the stream ended");
    }

    private async Task FollowWebSocketAsync(string? lastEventId, Action<string> seen, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        if (options.Token is { } token)
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        }

        await socket.ConnectAsync(options.Url, cancellationToken);
        var general = options.Url.AbsolutePath.TrimEnd('/') == "/ws";
        if (general)
        {
            var message = new Dictionary<string, string> { ["type"] = "subscribe", ["id"] = "tail", ["subject"] = options.Subject };
            if (lastEventId is not null)
            {
                message["lastEventId"] = lastEventId; // resume where the broken connection left off
            }

            var subscribe = JsonSerializer.Serialize(message);
            await socket.SendAsync(Encoding.UTF8.GetBytes(subscribe), WebSocketMessageType.Text, true, cancellationToken);
        }

        Say(lastEventId is null ? "connected" : $"reconnected, resumed after {lastEventId}");
        var buffer = new byte[1 << 20];
        while (!Done)
        {
            var length = 0;
            WebSocketReceiveResult received;
            do
            {
                var r = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                received = new WebSocketReceiveResult(r.Count, r.MessageType, r.EndOfMessage);
                length += received.Count;
            }
            while (!received.EndOfMessage && length < buffer.Length);

            if (received.MessageType == WebSocketMessageType.Close)
            {
                throw new IOException($"the server closed the socket ({socket.CloseStatus} {socket.CloseStatusDescription})");
            }

            var text = Encoding.UTF8.GetString(buffer, 0, length);
            if (general)
            {
                using var envelope = JsonDocument.Parse(text);
                var type = envelope.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
                if (type == "reading")
                {
                    if (envelope.RootElement.TryGetProperty("id", out var id) && id.GetString() is { } eventId)
                    {
                        seen(eventId);
                    }

                    Show(envelope.RootElement.GetProperty("data").GetRawText(), "reading", envelope.RootElement.GetProperty("subject").GetString());
                }
                else if (type == "error")
                {
                    throw new TailException($"the hub refused the subscription: {Excerpt.Of(text, 200)}");
                }

                continue;
            }

            Show(text, "dersim");
        }
    }

    // One event: a line with --json; otherwise a row of the table, parsed with the hub's own converters when it knows the shape.
    private void Show(string data, string eventType, string? subject = null)
    {
        _events++;
        if (options.Json)
        {
            Console.WriteLine(data);
            return;
        }

        var placeholder = new DerAddress("tail", "tail", "tail", "tail");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var bytes = Encoding.UTF8.GetBytes(data);
        try
        {
            var path = options.Url.AbsolutePath;
            Reading? reading = eventType switch
            {
                "live" => WhatwattLive.Parse(bytes, placeholder, now),
                "dersim" => DerSimOverview.Parse(bytes, placeholder, now),
                "reading" => NovacoreReading.Parse(bytes, placeholder),
                _ when path.StartsWith("/stream/", StringComparison.Ordinal) => NovacoreReading.Parse(bytes, placeholder),
                _ => null,
            };
            if (reading is not null)
            {
                var key = subject is not null ? SubjectDer(subject) : eventType switch
                {
                    "live" => Query("meter") ?? "meter",
                    "dersim" => JsonField(data, "device_id") ?? $"device {JsonField(data, "device_index") ?? "?"}",
                    _ => JsonField(data, NovacoreReading.DerIdKey) ?? reading.Type.ToWireName(), // one row per DER, not per type
                };
                _rows[key] = (reading.Type.ToWireName(), reading.Time.ToLocalTime().ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), Values(reading));
            }
            else
            {
                Generic(data);
            }
        }
        catch (Exception e) when (e is TelemetryFormatException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            Generic(data);
        }

        _refresh?.Invoke();
    }

    // An event of a shape the hub does not parse (HES): its identity and its first fields as they come, units and all.
    private void Generic(string data)
    {
        try
        {
            using var document = JsonDocument.Parse(data);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            var fields = document.RootElement.EnumerateObject().ToArray();
            var key = fields.FirstOrDefault(f => f.Name is "meterNo" or "der" or "device_id" or "id").Value.ToString() is { Length: > 0 } k ? k : "event";
            var values = fields.Where(f => f.Value.ValueKind is JsonValueKind.Number or JsonValueKind.String && f.Name is not ("meterNo" or "timestamp"))
                .Take(6).Select(f => $"{f.Name} {f.Value}");
            var time = fields.FirstOrDefault(f => f.Name == "timestamp").Value.ToString();
            _rows[key] = ("", time.Length >= 19 ? time[11..19] : time, string.Join(" · ", values));
        }
        catch (JsonException)
        {
            _rows["event"] = ("", "", Excerpt.Of(data, 200));
        }
    }

    private static string Values(Reading reading) =>
        string.Join(" · ", reading.Measurements.Take(4).Select(m => $"{m.Quantity} {m.Value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} {m.Unit.Symbol()}".TrimEnd()));

    private static string SubjectDer(string subject) => subject.Split('.') is { Length: >= 8 } t ? $"{t[1]}/{t[3]}/{t[5]}/{t[7]}" : subject;

    private string? Query(string name) =>
        options.Url.Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).FirstOrDefault(p => p[0] == name && p.Length == 2)?[1]
        ?? (options.Url.AbsolutePath.StartsWith("/meters/", StringComparison.Ordinal) ? options.Url.AbsolutePath.Split('/')[2] : null);

    private static string? JsonField(string json, string name)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.TryGetProperty(name, out var value) ? value.ToString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void Say(string status)
    {
        _status = status;
        if (options.Json)
        {
            Console.Error.WriteLine($"wattstream tail: {status}");
        }

        _refresh?.Invoke();
    }
}
