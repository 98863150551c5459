using System.Buffers;
using System.Text.Json;
using Wattstream.Energy.Balance;
using Wattstream.Energy.Periods;
using Wattstream.Hub.Feeds;
using Wattstream.Telemetry;

namespace Wattstream.Energy.Summaries;

/// <summary>
/// What a site's energy means right now: the live power balance, and today's energy, ratios and cost. Its JSON is made
/// once and shared by SSE, <c>/ws</c> and NATS.
/// </summary>
public sealed class SiteSummary : IFeedItem
{
    public SiteSummary(string org, string site, PowerBalance balance, EnergyPeriod? today, string? currency, long version, DateTimeOffset? staleSince = null)
    {
        Org = org;
        Site = site;
        Balance = balance;
        Today = today;
        Version = version;
        StaleSince = staleSince;
        Json = Encode(org, site, balance, today, currency, staleSince);
    }

    public string Org { get; }

    public string Site { get; }

    public PowerBalance Balance { get; }

    public EnergyPeriod? Today { get; }

    /// <summary>
    /// Since when none of the site's DERs has been connected on the status board (silent for <c>Status:StaleAfter</c>,
    /// or not heard from in this run): the balance is old. Null while the site reports.
    /// </summary>
    public DateTimeOffset? StaleSince { get; }

    /// <summary>Grows with every summary of the hub (an SSE id).</summary>
    public long Version { get; }

    public ReadOnlyMemory<byte> Json { get; }

    /// <summary>The NATS subject of a site's summaries.</summary>
    public string Subject => $"orgs.{Org}.sites.{Site}.summary.json.v1";

    /// <summary>A summary is about a whole site.</summary>
    public DerAddress? Der => null;

    long IFeedItem.Id => Version;

    /// <summary>The summary in each transport's framing, made on first use and shared (as <c>HubEvent.GetEncoded</c>).</summary>
    public FramedEncodings Encodings { get; } = new();

    private static byte[] Encode(string org, string site, PowerBalance b, EnergyPeriod? today, string? currency, DateTimeOffset? staleSince)
    {
        var buffer = new ArrayBufferWriter<byte>(768);
        using (var w = new Utf8JsonWriter(buffer, EnergyJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("org", org);
            w.WriteString("site", site);
            EnergyJson.WriteBalance(w, b);
            w.WriteBoolean("stale", staleSince is not null);
            if (staleSince is { } since)
            {
                w.WriteString("staleSince", WireTime.Format(since));
            }
            else
            {
                w.WriteNull("staleSince");
            }

            w.WritePropertyName("today");
            if (today is null)
            {
                w.WriteNullValue();
            }
            else
            {
                EnergyJson.WritePeriod(w, today, currency);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>The JSON of a power balance and of an energy period, each the same wherever it is written.</summary>
public static class EnergyJson
{
    /// <summary>Times keep their offset's '+' as it is (the default encoder writes \u002B); the output is JSON, not HTML.</summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The members of a power balance, the same in a summary and in <c>/api/balance</c>'s points.</summary>
    public static void WriteBalance(Utf8JsonWriter w, PowerBalance b)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(b);
        w.WriteString("timestamp", WireTime.Format(DateTimeOffset.FromUnixTimeMilliseconds(b.Timestamp)));
        w.WriteNumberOrNull("gridW", b.GridW, 1);
        w.WriteNumberOrNull("gridImportW", b.GridImportW, 1);
        w.WriteNumberOrNull("gridExportW", b.GridExportW, 1);
        w.WriteNumberOrNull("pvW", b.PvW, 1);
        w.WriteNumberOrNull("batteryW", b.BatteryW, 1);
        w.WriteNumberOrNull("batteryChargeW", b.BatteryChargeW, 1);
        w.WriteNumberOrNull("batteryDischargeW", b.BatteryDischargeW, 1);
        w.WriteNumberOrNull("evW", b.EvW, 1);
        w.WriteNumberOrNull("homeW", b.HomeW, 1);
        w.WriteNumberOrNull("selfSufficiency", b.SelfSufficiency, 4);
        w.WriteNumberOrNull("selfConsumption", b.SelfConsumption, 4);
        w.WriteNumberOrNull("batterySoc", b.BatterySoc, 4);
        w.WriteStartObject("toHomeW");
        w.WriteNumberOrNull("grid", b.GridToHomeW, 1);
        w.WriteNumberOrNull("pv", b.PvToHomeW, 1);
        w.WriteNumberOrNull("battery", b.BatteryToHomeW, 1);
        w.WriteNumberOrNull("ev", b.EvToHomeW, 1);
        w.WriteEndObject();
    }

    public static void WritePeriod(Utf8JsonWriter w, EnergyPeriod p, string? currency)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(p);
        w.WriteStartObject();
        w.WriteString("start", p.Start.ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("end", p.End.ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteBoolean("complete", p.Complete);
        w.WriteNumber("gridImportKwh", p.GridImportKwh);
        w.WriteNumber("gridExportKwh", p.GridExportKwh);
        w.WriteNumber("pvKwh", p.PvKwh);
        w.WriteNumber("batteryInKwh", p.BatteryInKwh);
        w.WriteNumber("batteryOutKwh", p.BatteryOutKwh);
        w.WriteNumber("evInKwh", p.EvInKwh);
        w.WriteNumber("evOutKwh", p.EvOutKwh);
        w.WriteNumber("homeKwh", p.HomeKwh);
        w.WriteNumberOrNull("selfSufficiency", p.SelfSufficiency);
        w.WriteNumberOrNull("selfConsumption", p.SelfConsumption);
        w.WriteNumberOrNull("cost", p.Cost);
        w.WriteNumberOrNull("earnings", p.Earnings);
        w.WriteNumberOrNull("net", p.Net);
        w.WriteString("currency", currency); // null when the site has no tariff

        w.WriteStartArray("notes");
        foreach (var note in p.Notes)
        {
            w.WriteStringValue(note);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
