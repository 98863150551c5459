using System.Buffers;
using System.Text.Json;
using Wattstream.Alerts.Evaluation;
using Wattstream.Hub.Feeds;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Alerts.Delivery;

/// <summary>
/// One alert as every client gets it: the seed's notification (<c>type</c>, <c>message</c>, <c>timestamp</c>,
/// <c>data</c>) plus its id, rule, state and where it happened. <see cref="Json"/> is made once and shared by SSE,
/// <c>/ws</c>, NATS, webhooks and the REST answers.
/// </summary>
public sealed class Alert : IFeedItem
{
    private Alert(long id, string rule, string type, AlertState state, string org, string site, DerAddress? der, long timestamp, byte[] json)
    {
        Id = id;
        Rule = rule;
        Type = type;
        State = state;
        Org = org;
        Site = site;
        Der = der;
        Timestamp = timestamp;
        Json = json;
    }


    public long Id { get; }

    public string Rule { get; }

    public string Type { get; }

    public AlertState State { get; }

    public string Org { get; }

    public string Site { get; }

    /// <summary>The DER it is about; null for a reported alert about a whole site.</summary>
    public DerAddress? Der { get; }

    /// <summary>Epoch ms.</summary>
    public long Timestamp { get; }

    /// <summary>The alert's JSON, id first.</summary>
    public ReadOnlyMemory<byte> Json { get; }

    /// <summary>The NATS subject of the alerts of its site.</summary>
    public string Subject => AlertSubjects.Of(Org, Site);

    /// <summary>The JSON of a draft, without an id (the store keeps this; the id is spliced in front).</summary>
    public static byte[] EncodeBody(AlertDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("rule", draft.Rule);
            w.WriteString("type", draft.Type);
            w.WriteString("state", draft.State.ToWireName());
            w.WriteString("message", draft.Message);
            w.WriteString("timestamp", WireTime.Format(DateTimeOffset.FromUnixTimeMilliseconds(draft.Timestamp)));
            w.WriteString("org", draft.Org);
            w.WriteString("site", draft.Site);
            if (draft.Der is { } der)
            {
                w.WriteString("device", der.Device);
                w.WriteString("der", der.Der);
                w.WriteString("subject", der.Subject);
            }

            w.WriteNumberOrNull("value", draft.Value);
            w.WriteNumberOrNull("threshold", draft.Threshold);
            w.WritePropertyName("data");
            if (draft.RawData is { } raw)
            {
                w.WriteRawValue(raw);
            }
            else if (draft.Data is { } reading)
            {
                // The reading in the hub's general shape (Novacore's reading JSON), as on /ws by default.
                w.WriteRawValue(NovacoreReading.ToUtf8(reading));
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The alert of a body the store gave back under <paramref name="id"/>.</summary>
    public static Alert FromBody(long id, string rule, string type, AlertState state, string org, string site, DerAddress? der, long timestamp, ReadOnlySpan<byte> body)
    {
        // {"rule":…} becomes {"id":42,"rule":…}: the body is written once and never re-encoded.
        var prefix = System.Text.Encoding.UTF8.GetBytes($"{{\"id\":{id},");
        var json = new byte[prefix.Length + body.Length - 1];
        prefix.CopyTo(json, 0);
        body[1..].CopyTo(json.AsSpan(prefix.Length));
        return new Alert(id, rule, type, state, org, site, der, timestamp, json);
    }

    /// <summary>The alert in each transport's framing (an SSE event, a <c>/ws</c> message), made on first use and shared.</summary>
    public FramedEncodings Encodings { get; } = new();

    public override string ToString() => $"#{Id} {Type} {State.ToWireName()} {Org}/{Site}/{Der?.Der}";
}

/// <summary>Where alerts go on NATS: <c>orgs.{org}.sites.{site}.alerts.json.v1</c>, beside the site's telemetry.</summary>
public static class AlertSubjects
{
    public static string Of(string org, string site) => $"orgs.{org}.sites.{site}.alerts.json.v1";
}
