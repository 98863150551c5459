using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Wattstream.Sources.Http;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Sources.Whatwatt;

/// <summary>
/// Reads a whatwatt Go adapter's <c>/api/v1/live</c> stream. The device allows one client and sends no heartbeats;
/// the idle watchdog and the reconnect loop make up for both. Readings carry the device's own Date/Time.
/// </summary>
public sealed class WhatwattSource : TelemetrySource
{
    private readonly DerAddress _meter;
    private readonly TimeZoneInfo _timeZone;
    private readonly DeviceAuthClientHandler? _auth;
    private readonly HttpClient _http;
    private readonly WholeSecondSequencer _sequencer = new();

    public WhatwattSource(SourceOptions options, SourceContext context)
        : base(options, context)
    {
        _meter = new DerAddress(options.Org, options.Site, options.DeviceId, options.DerId);
        _timeZone = string.IsNullOrEmpty(options.TimeZone) ? TimeZoneInfo.Local : TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone);
        _auth = options.Password is null ? null : new DeviceAuthClientHandler(options.Password, scheme: options.AuthScheme);
        _http = context.Http.Create(_auth);
        Declare(_meter, DerType.Meter);
    }

    public DerAddress Meter => _meter;

    public int StaleNonceRetries => _auth?.StaleRetries ?? 0;

    protected override Task ReadAsync(SourceSession session, CancellationToken cancellationToken) =>
        Options.PollReport is { } interval ? PollAsync(session, interval, cancellationToken) : StreamAsync(session, cancellationToken);

    private async Task PollAsync(SourceSession session, TimeSpan interval, CancellationToken cancellationToken)
    {
        var url = new Uri(Options.Url!, "/api/v1/report");
        var first = true;
        while (true)
        {
            using (var response = await _http.GetAsync(url, cancellationToken))
            {
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    throw new SourceAuthenticationException(_auth?.Refusal ?? "the device refused the password");
                }

                response.EnsureSuccessStatusCode(); // 404 on a device without the licence: reported as the last error
                if (first)
                {
                    session.Connected();
                    first = false;
                }

                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                var now = Context.Time.GetUtcNow();
                session.Touch(now);
                State.AddBytes(body.Length);
                try
                {
                    session.Publish(WhatwattReport.Parse(body, _meter, now.ToUnixTimeMilliseconds()));
                }
                catch (TelemetryFormatException e)
                {
                    Reject("malformed", e.Message);
                }
            }

            await Task.Delay(interval, Context.Time, cancellationToken);
        }
    }

    private async Task StreamAsync(SourceSession session, CancellationToken cancellationToken)
    {
        var url = new Uri(Options.Url!, "/api/v1/live");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new SourceAuthenticationException(Options.Password is null
                ? "the device asks for a password and none is configured"
                : _auth?.Refusal ?? "the device refused the password");
        }

        response.EnsureSuccessStatusCode();
        session.Connected();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await using var limited = new LineLimitingStream(body, Context.Timing.MaxEventBytes)
        {
            OnLineDropped = () => Reject("oversized", $"a line longer than {Context.Timing.MaxEventBytes} bytes was dropped"),
        };
        var parser = SseParser.Create(limited);
        long lastBytes = 0;
        await foreach (var item in parser.EnumerateAsync(cancellationToken))
        {
            var now = Context.Time.GetUtcNow();
            session.Touch(now);
            State.AddBytes(limited.BytesRead - lastBytes);
            lastBytes = limited.BytesRead;
            if (item.EventType != "live")
            {
                Reject("unknown-event", $"unknown event '{Excerpt.Of(item.EventType, 40)}'");
                continue;
            }

            if (item.Data.Length == 0)
            {
                continue; // what is left of an event whose data line was too long (already counted)
            }

            try
            {
                var data = Encoding.UTF8.GetBytes(item.Data);
                var reading = WhatwattLive.Parse(data, _meter, now.ToUnixTimeMilliseconds());
                session.Publish(DeviceTime(reading) is { } deviceTime ? reading.WithTimestamp(_sequencer.Next(deviceTime, data)) : reading);
            }
            catch (TelemetryFormatException e)
            {
                Reject("malformed", e.Message);
            }
        }
    }

    // The device's local Date and Time (whole seconds) make the reading's time, numbered within the second by the
    // sequencer, so a reading seen twice (across a reconnect) is recognised as the same one and faster ones are kept.
    private long? DeviceTime(Reading reading)
    {
        if (!reading.TryGetProperty(PropertyNames.LocalDate, out var date) || !reading.TryGetProperty(PropertyNames.LocalTime, out var time))
        {
            return null;
        }

        var text = $"{JsonSerializer.Deserialize<string>(date.RawJson.Span)} {JsonSerializer.Deserialize<string>(time.RawJson.Span)}";
        if (!DateTime.TryParseExact(text, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return null;
        }

        return new DateTimeOffset(local, _timeZone.GetUtcOffset(local)).ToUnixTimeMilliseconds();
    }
}
