using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using Wattstream.Sources.Http;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Sources.Sse;

/// <summary>
/// Reads an SSE stream of reading JSON (Novacore's <c>/stream/sites/{siteId}</c>) with a Bearer token. A reading that
/// carries <c>der_id</c> (as a Wattstream hub writes them) is that DER, under its <c>device_id</c> (else the source's
/// device), in the source's org and site; one without (the platform's own stream) is one DER per type: <c>{der}-{type}</c>.
/// </summary>
public sealed class ReadingSseSource(SourceOptions options, SourceContext context) : TelemetrySource(options, context)
{
    private readonly HttpClient _http = context.Http.Create(null);
    private readonly Dictionary<DerType, DerAddress> _ders = [];
    private readonly Dictionary<(string Device, string Der), DerAddress> _carried = [];
    private string? _lastEventId;

    protected override async Task ReadAsync(SourceSession session, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Options.Url);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (Options.Token is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (_lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", _lastEventId); // pick up where the stream broke
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new SourceAuthenticationException(Options.Token is null ? "the stream needs a token and none is configured" : "the token was refused");
        }

        response.EnsureSuccessStatusCode();
        session.Connected();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await using var limited = new LineLimitingStream(body, Context.Timing.MaxEventBytes)
        {
            OnLineDropped = () => Reject("oversized", $"a line longer than {Context.Timing.MaxEventBytes} bytes was dropped"),
        };
        long lastBytes = 0;
        await foreach (var item in SseParser.Create(limited).EnumerateAsync(cancellationToken))
        {
            var now = Context.Time.GetUtcNow();
            session.Touch(now);
            State.AddBytes(limited.BytesRead - lastBytes);
            lastBytes = limited.BytesRead;
            if (item.EventId is { Length: > 0 } id)
            {
                _lastEventId = id;
            }

            if (item.EventType != "message")
            {
                continue; // named events (gap notices, statuses) are not readings
            }

            if (item.Data.Length == 0)
            {
                continue;
            }

            try
            {
                var bytes = Encoding.UTF8.GetBytes(item.Data);
                var reading = NovacoreReading.Parse(bytes, Placeholder, [], out var carried);
                if (AddressOf(carried) is { } der)
                {
                    session.Publish(reading.WithDer(der));
                }
                else if (carried.Der is null)
                {
                    session.Publish(reading.WithDer(DerFor(reading.Type)));
                }
                else
                {
                    Reject("malformed", $"'der_id' or 'device_id' is not an id of {Subjects.TokenRule}");
                }
            }
            catch (TelemetryFormatException e)
            {
                Reject("malformed", e.Message);
            }
        }
    }

    private DerAddress Placeholder => DerFor(DerType.Meter);

    // The reading's own ids, when it carries a valid der_id; the source's org and site place it in this hub.
    private DerAddress? AddressOf(CarriedIds carried)
    {
        var device = carried.Device ?? Options.DeviceId;
        if (!Subjects.IsValidToken(carried.Der) || !Subjects.IsValidToken(device))
        {
            return null;
        }

        if (!_carried.TryGetValue((device, carried.Der!), out var der))
        {
            der = new DerAddress(Options.Org, Options.Site, device, carried.Der!);
            _carried[(device, carried.Der!)] = der;
        }

        return der;
    }

    private DerAddress DerFor(DerType type)
    {
        if (!_ders.TryGetValue(type, out var der))
        {
            der = new DerAddress(Options.Org, Options.Site, Options.DeviceId, $"{Options.DerId}-{type.ToWireName()}");
            _ders[type] = der;
        }

        return der;
    }
}
