using System.Buffers;
using System.Text.Json;
using Wattstream.Energy.Balance;
using Wattstream.Energy.Periods;
using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Energy.Summaries;

/// <summary>
/// What a site's energy means right now: the live power balance, and today's energy, ratios and cost. Its JSON is made
/// once and shared by SSE, <c>/ws</c> and NATS.
/// </summary>
public sealed class SiteSummary
{
    public SiteSummary(string org, string site, PowerBalance balance, EnergyPeriod? today, string? currency, long version)
    {
        Org = org;
        Site = site;
        Balance = balance;
        Today = today;
        Version = version;
        Json = Encode(org, site, balance, today, currency);
    }

    public string Org { get; }

    public string Site { get; }

    public PowerBalance Balance { get; }

    public EnergyPeriod? Today { get; }

    /// <summary>Grows with every summary of the hub (an SSE id).</summary>
    public long Version { get; }

    public ReadOnlyMemory<byte> Json { get; }

    /// <summary>The NATS subject of a site's summaries.</summary>
    public string Subject => $"orgs.{Org}.sites.{Site}.summary.json.v1";

    private readonly FramedEncodings _encodings = new();

    /// <summary>The summary in a transport's framing, made on first use and shared (as <c>HubEvent.GetEncoded</c>).</summary>
    public ReadOnlyMemory<byte> GetEncoded(object framing, Func<SiteSummary, byte[]> encode) => _encodings.Get(this, framing, encode);

    private static byte[] Encode(string org, string site, PowerBalance b, EnergyPeriod? today, string? currency)
    {
        var buffer = new ArrayBufferWriter<byte>(768);
        using (var w = new Utf8JsonWriter(buffer, EnergyJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("org", org);
            w.WriteString("site", site);
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

/// <summary>The JSON of an energy period, the same in <c>/api/energy</c> and in a summary's <c>today</c>.</summary>
public static class EnergyJson
{
    /// <summary>Times keep their offset's '+' as it is (the default encoder writes \u002B); the output is JSON, not HTML.</summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

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
