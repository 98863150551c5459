using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Wattstream.Server.Families.Hes;

/// <summary>
/// The data of a HES real-time reading event (written by <c>HesRealtime</c>, cached bytes on the hot path; declared here
/// for the API description): the meter, the time, then labelled values as text with their units. A value the meter
/// does not provide is left out.
/// </summary>
public sealed class HesRealtimeData
{
    [JsonPropertyName("meterNo")]
    public required string MeterNo { get; init; }

    [JsonPropertyName("timestamp"), Description("ISO-8601 UTC with milliseconds")]
    public required string Timestamp { get; init; }

    [JsonPropertyName("Active power import (+P)"), Description("Active power import, as text with its unit (\"… kW\")")]
    public string? ActivePowerImportP { get; init; }

    [JsonPropertyName("Active power export (-P)"), Description("Active power export, as text with its unit (\"… kW\")")]
    public string? ActivePowerExportP { get; init; }

    [JsonPropertyName("L1 Active Power"), Description("Active power l1, as text with its unit (\"… kW\")")]
    public string? L1ActivePower { get; init; }

    [JsonPropertyName("L2 Active Power"), Description("Active power l2, as text with its unit (\"… kW\")")]
    public string? L2ActivePower { get; init; }

    [JsonPropertyName("L3 Active Power"), Description("Active power l3, as text with its unit (\"… kW\")")]
    public string? L3ActivePower { get; init; }

    [JsonPropertyName("L1 Voltage"), Description("Voltage l1, as text with its unit (\"… V\")")]
    public string? L1Voltage { get; init; }

    [JsonPropertyName("L2 Voltage"), Description("Voltage l2, as text with its unit (\"… V\")")]
    public string? L2Voltage { get; init; }

    [JsonPropertyName("L3 Voltage"), Description("Voltage l3, as text with its unit (\"… V\")")]
    public string? L3Voltage { get; init; }

    [JsonPropertyName("L1 Current"), Description("Current l1, as text with its unit (\"… A\")")]
    public string? L1Current { get; init; }

    [JsonPropertyName("L2 Current"), Description("Current l2, as text with its unit (\"… A\")")]
    public string? L2Current { get; init; }

    [JsonPropertyName("L3 Current"), Description("Current l3, as text with its unit (\"… A\")")]
    public string? L3Current { get; init; }

    [JsonPropertyName("Frequency"), Description("Frequency, as text with its unit (\"… Hz\")")]
    public string? Frequency { get; init; }

    [JsonPropertyName("Power Factor"), Description("Power factor: a number as text")]
    public string? PowerFactor { get; init; }

    [JsonPropertyName("Active energy import (+A)"), Description("Energy import, as text with its unit (\"… kWh\")")]
    public string? ActiveEnergyImportA { get; init; }

    [JsonPropertyName("Active energy import (+A) T1"), Description("Energy import t1, as text with its unit (\"… kWh\")")]
    public string? ActiveEnergyImportAT1 { get; init; }

    [JsonPropertyName("Active energy import (+A) T2"), Description("Energy import t2, as text with its unit (\"… kWh\")")]
    public string? ActiveEnergyImportAT2 { get; init; }

    [JsonPropertyName("Active energy export (-A)"), Description("Energy export, as text with its unit (\"… kWh\")")]
    public string? ActiveEnergyExportA { get; init; }

    [JsonPropertyName("Active energy export (-A) T1"), Description("Energy export t1, as text with its unit (\"… kWh\")")]
    public string? ActiveEnergyExportAT1 { get; init; }

    [JsonPropertyName("Active energy export (-A) T2"), Description("Energy export t2, as text with its unit (\"… kWh\")")]
    public string? ActiveEnergyExportAT2 { get; init; }

    [JsonPropertyName("Reactive energy import (+R)"), Description("Reactive energy import, as text with its unit (\"… kvarh\")")]
    public string? ReactiveEnergyImportR { get; init; }

    [JsonPropertyName("Reactive energy export (-R)"), Description("Reactive energy export, as text with its unit (\"… kvarh\")")]
    public string? ReactiveEnergyExportR { get; init; }

    [JsonPropertyName("Active Tariff"), Description("Active tariff: a number as text")]
    public string? ActiveTariff { get; init; }

    [JsonPropertyName("Total absolute cumulative active energy register"), Description("|+A| + |-A| (OBIS 15.8.0), as text with its unit (\"… kWh\")")]
    public string? TotalAbsoluteCumulativeActiveEnergyRegister { get; init; }

    [JsonPropertyName("Remaining Credit Amount"), Description("A prepaid meter's remaining credit: two decimals, no unit (\"250.00\"); absent for other meters")]
    public string? RemainingCreditAmount { get; init; }
}
