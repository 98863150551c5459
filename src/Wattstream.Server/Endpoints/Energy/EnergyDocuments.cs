using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Wattstream.Server.Endpoints.Energy;

// What the energy endpoints answer (a summary's JSON is made once by SiteSummary and shared by SSE, /ws and NATS; the
// periods are written by EnergyJson). Declared here for the API description. Power in W, energy in kWh, ratios 0–1.

/// <summary>A site's power balance at one moment (a summary's, or a point of <c>/api/balance</c>).</summary>
public class PowerBalanceDocument
{
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

    [JsonPropertyName("toHomeW"), Description("The power-flow picture's lines, + toward the home / − away from it: grid importing, PV generating, battery and EV discharging; they sum to homeW unless it is clamped")]
    public required PowerFlowDocument ToHomeW { get; init; }
}

/// <summary>A site's summary: the live power balance and today's energy.</summary>
public sealed class SiteSummaryDocument : PowerBalanceDocument
{
    [JsonPropertyName("org")]
    public required string Org { get; init; }

    [JsonPropertyName("site")]
    public required string Site { get; init; }

    [JsonPropertyName("stale"), Description("true while none of the site's DERs is connected on the status board (silent for Status:StaleAfter, or not heard from since the hub started): the balance is old")]
    public required bool Stale { get; init; }

    [JsonPropertyName("staleSince"), Description("When the hub began to call the site stale; null while it is not")]
    public string? StaleSince { get; init; }

    [JsonPropertyName("today"), Description("Today's energy period; null until it is known")]
    public EnergyPeriodDocument? Today { get; init; }
}

/// <summary>A site's power balance over time (<c>GET /api/balance</c>).</summary>
public sealed class BalanceHistoryDocument
{
    [JsonPropertyName("org")]
    public required string Org { get; init; }

    [JsonPropertyName("site")]
    public required string Site { get; init; }

    [JsonPropertyName("step")]
    public required string Step { get; init; }

    [JsonPropertyName("points"), Description("Oldest first; timestamp is the bucket's start")]
    public required IReadOnlyList<PowerBalanceDocument> Points { get; init; }
}

/// <summary>A site's power per line of the power flow, in W, + toward the home.</summary>
public sealed class PowerFlowDocument
{
    [JsonPropertyName("grid")]
    public double? Grid { get; init; }

    [JsonPropertyName("pv")]
    public double? Pv { get; init; }

    [JsonPropertyName("battery")]
    public double? Battery { get; init; }

    [JsonPropertyName("ev")]
    public double? Ev { get; init; }
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
