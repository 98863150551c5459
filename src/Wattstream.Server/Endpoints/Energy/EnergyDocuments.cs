using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Wattstream.Server.Endpoints.Energy;

// What the energy endpoints answer (a summary's JSON is made once by SiteSummary and shared by SSE, /ws and NATS; the
// periods are written by EnergyJson). Declared here for the API description. Power in W, energy in kWh, ratios 0–1.

/// <summary>A site's summary: the live power balance and today's energy.</summary>
public sealed class SiteSummaryDocument
{
    [JsonPropertyName("org")]
    public required string Org { get; init; }

    [JsonPropertyName("site")]
    public required string Site { get; init; }

    [JsonPropertyName("timestamp")]
    public required string Timestamp { get; init; }

    [JsonPropertyName("gridW"), Description("+ import, − export")]
    public double? GridW { get; init; }

    [JsonPropertyName("gridImportW")]
    public double? GridImportW { get; init; }

    [JsonPropertyName("gridExportW")]
    public double? GridExportW { get; init; }

    [JsonPropertyName("pvW")]
    public double? PvW { get; init; }

    [JsonPropertyName("batteryW"), Description("+ charging, − discharging")]
    public double? BatteryW { get; init; }

    [JsonPropertyName("batteryChargeW")]
    public double? BatteryChargeW { get; init; }

    [JsonPropertyName("batteryDischargeW")]
    public double? BatteryDischargeW { get; init; }

    [JsonPropertyName("evW")]
    public double? EvW { get; init; }

    [JsonPropertyName("homeW")]
    public double? HomeW { get; init; }

    [JsonPropertyName("selfSufficiency")]
    public double? SelfSufficiency { get; init; }

    [JsonPropertyName("selfConsumption")]
    public double? SelfConsumption { get; init; }

    [JsonPropertyName("batterySoc")]
    public double? BatterySoc { get; init; }

    [JsonPropertyName("today"), Description("Today's energy period; null until it is known")]
    public EnergyPeriodDocument? Today { get; init; }
}

/// <summary>One period's energy, ratios and cost, from the devices' registers.</summary>
public sealed class EnergyPeriodDocument
{
    [JsonPropertyName("start"), Description("Local time with offset")]
    public required string Start { get; init; }

    [JsonPropertyName("end")]
    public required string End { get; init; }

    [JsonPropertyName("complete"), Description("false for a period in progress or with a gap; notes say why")]
    public required bool Complete { get; init; }

    [JsonPropertyName("gridImportKwh")]
    public required double GridImportKwh { get; init; }

    [JsonPropertyName("gridExportKwh")]
    public required double GridExportKwh { get; init; }

    [JsonPropertyName("pvKwh")]
    public required double PvKwh { get; init; }

    [JsonPropertyName("batteryInKwh")]
    public required double BatteryInKwh { get; init; }

    [JsonPropertyName("batteryOutKwh")]
    public required double BatteryOutKwh { get; init; }

    [JsonPropertyName("evInKwh")]
    public required double EvInKwh { get; init; }

    [JsonPropertyName("evOutKwh")]
    public required double EvOutKwh { get; init; }

    [JsonPropertyName("homeKwh")]
    public required double HomeKwh { get; init; }

    [JsonPropertyName("selfSufficiency")]
    public double? SelfSufficiency { get; init; }

    [JsonPropertyName("selfConsumption")]
    public double? SelfConsumption { get; init; }

    [JsonPropertyName("cost")]
    public double? Cost { get; init; }

    [JsonPropertyName("earnings")]
    public double? Earnings { get; init; }

    [JsonPropertyName("net")]
    public double? Net { get; init; }

    [JsonPropertyName("currency"), Description("null when the site has no tariff")]
    public string? Currency { get; init; }

    [JsonPropertyName("notes")]
    public required IReadOnlyList<string> Notes { get; init; }
}

/// <summary><c>GET /api/energy</c>.</summary>
public sealed class EnergyPeriodsDocument
{
    [JsonPropertyName("org")]
    public required string Org { get; init; }

    [JsonPropertyName("site")]
    public required string Site { get; init; }

    [JsonPropertyName("period"), Description("hour, day or month")]
    public required string Period { get; init; }

    [JsonPropertyName("timeZone")]
    public required string TimeZone { get; init; }

    [JsonPropertyName("currency")]
    public string? Currency { get; init; }

    [JsonPropertyName("periods")]
    public required IReadOnlyList<EnergyPeriodDocument> Periods { get; init; }
}

/// <summary><c>GET /api/summaries</c>.</summary>
public sealed class SummaryListDocument
{
    [JsonPropertyName("summaries")]
    public required IReadOnlyList<SiteSummaryDocument> Summaries { get; init; }
}
