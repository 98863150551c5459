using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Wattstream.Server.Families.DerSim;

// The DER simulator's snapshot, as GET /api/dersim/overview answers and every telemetry WebSocket message carries
// (written by DerSimOverview, cached bytes per snapshot; declared here for the API description). Members are the
// seed's; a metric the device cannot give is null. Unknown members a DERSim source sent travel along.

/// <summary>One device's latest snapshot.</summary>
public sealed class DerSimSnapshot
{
    [JsonPropertyName("metrics")]
    public required DerSimMetrics Metrics { get; init; }

    [JsonPropertyName("pq")]
    public required DerSimPq Pq { get; init; }

    [JsonPropertyName("status")]
    public required DerSimStatus Status { get; init; }

    [JsonPropertyName("clock_time"), Description("The simulator's wall clock, HH:MM:SS")]
    public required string ClockTime { get; init; }

    [JsonPropertyName("dc_mode"), Description("pv, battery, wind, fuelcell, hybrid-dc or none")]
    public required string DcMode { get; init; }

    [JsonPropertyName("dc_port_count"), Description("DC ports populated (SunSpec model 714)")]
    public required int DcPortCount { get; init; }

    [JsonPropertyName("device_type"), Description("The device type flag, e.g. PV-3Phase, PV-1Phase, Batt, Batt-1Phase")]
    public required string DeviceType { get; init; }

    [JsonPropertyName("device_profile_name"), Description("The EVSE profile or nameplate, e.g. EVSE-AC-22kW-1port; null without one")]
    public required string? DeviceProfileName { get; init; }

    [JsonPropertyName("asset_type"), Description("battery, wind, fuelcell, hybrid-dc, pv or evse")]
    public required string AssetType { get; init; }

    [JsonPropertyName("device_index"), Description("0-based index among the caller's devices")]
    public required int DeviceIndex { get; init; }
}

/// <summary>The snapshot's <c>metrics</c>.</summary>
public sealed class DerSimMetrics
{
    [JsonPropertyName("power_kw"), Description("Active power, kW (generator convention: positive is delivered to the grid)")]
    public double? PowerKw { get; init; }

    [JsonPropertyName("reactive_power_kvar"), Description("Reactive power, kvar")]
    public double? ReactivePowerKvar { get; init; }

    [JsonPropertyName("apparent_power_kva"), Description("Apparent power, kVA")]
    public double? ApparentPowerKva { get; init; }

    [JsonPropertyName("voltage_ll_v"), Description("Voltage line to line, V")]
    public double? VoltageLlV { get; init; }

    [JsonPropertyName("voltage_ln_v"), Description("Voltage, V")]
    public double? VoltageLnV { get; init; }

    [JsonPropertyName("current_a"), Description("Current, A")]
    public double? CurrentA { get; init; }

    [JsonPropertyName("frequency_hz"), Description("Frequency, Hz")]
    public double? FrequencyHz { get; init; }

    [JsonPropertyName("power_factor"), Description("Power factor")]
    public double? PowerFactor { get; init; }

    [JsonPropertyName("dc_power_kw"), Description("Dc power, kW")]
    public double? DcPowerKw { get; init; }

    [JsonPropertyName("dc_voltage_v"), Description("Dc voltage, V")]
    public double? DcVoltageV { get; init; }

    [JsonPropertyName("dc_current_a"), Description("Dc current, A")]
    public double? DcCurrentA { get; init; }

    [JsonPropertyName("state_of_charge_pct"), Description("State of charge, %")]
    public double? StateOfChargePct { get; init; }

    [JsonPropertyName("soc_reserve_min_pct"), Description("Soc reserve min, %")]
    public double? SocReserveMinPct { get; init; }

    [JsonPropertyName("soc_reserve_max_pct"), Description("Soc reserve max, %")]
    public double? SocReserveMaxPct { get; init; }

    [JsonPropertyName("soc_min_pct"), Description("Soc min, %")]
    public double? SocMinPct { get; init; }

    [JsonPropertyName("soc_max_pct"), Description("Soc max, %")]
    public double? SocMaxPct { get; init; }

    [JsonPropertyName("timestamp"), Description("The measurement's time, ISO-8601")]
    public required string Timestamp { get; init; }
}

/// <summary>The snapshot's <c>pq</c>: the AC operating point. <c>angle_deg</c> is 0 when there is no current.</summary>
public sealed class DerSimPq
{
    [JsonPropertyName("active_kw"), Description("Pq active power, kW")]
    public double? ActiveKw { get; init; }

    [JsonPropertyName("reactive_kvar"), Description("Pq reactive power, kvar")]
    public double? ReactiveKvar { get; init; }

    [JsonPropertyName("apparent_kva"), Description("Pq apparent power, kVA")]
    public double? ApparentKva { get; init; }

    [JsonPropertyName("angle_deg"), Description("Power angle, °")]
    public double? AngleDeg { get; init; }
}

/// <summary>The snapshot's <c>status</c>.</summary>
public sealed class DerSimStatus
{
    [JsonPropertyName("service_state")]
    public required string ServiceState { get; init; }

    [JsonPropertyName("inverter_state")]
    public required string InverterState { get; init; }

    [JsonPropertyName("connection_state")]
    public required string ConnectionState { get; init; }

    [JsonPropertyName("message")]
    public string? Message { get; init; }
}
