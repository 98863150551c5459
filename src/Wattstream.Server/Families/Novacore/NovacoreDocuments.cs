using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Wattstream.Server.Families.Novacore;

/// <summary>
/// A Novacore reading, the data of every event on <c>/stream/sites/{siteId}</c> (written by <c>NovacoreReading</c>,
/// cached bytes on the hot path; declared here for the API description): flat, in SI units. Which keys appear depends
/// on <c>type</c>; a value the DER does not provide is left out. Unknown members a Novacore source sent travel along.
/// </summary>
public sealed class NovacoreReadingData
{
    [JsonPropertyName("type"), Description("meter, pv, battery or v2x_charger")]
    public required string Type { get; init; }

    [JsonPropertyName("make"), Description("The device's make, when known")]
    public System.Text.Json.JsonElement? Make { get; init; }

    [JsonPropertyName("timestamp"), Description("Unix epoch milliseconds of the measurement")]
    public required long Timestamp { get; init; }

    [JsonPropertyName("read_time_ms"), Description("How long the device took to read, ms")]
    public long? ReadTimeMs { get; init; }

    [JsonPropertyName("site_id"), Description("The DER's site (the hub's addition: every reading it writes carries its address)")]
    public required string SiteId { get; init; }

    [JsonPropertyName("device_id"), Description("The DER's device")]
    public required string DeviceId { get; init; }

    [JsonPropertyName("der_id"), Description("The DER: (der_id, timestamp) identifies a reading")]
    public required string DerId { get; init; }

    [JsonPropertyName("W"), Description("Active power, W")]
    public double? W { get; init; }

    [JsonPropertyName("V"), Description("Voltage (a battery's: its dc terminals), V")]
    public double? V { get; init; }

    [JsonPropertyName("A"), Description("Current (a battery's: its dc terminals), A")]
    public double? A { get; init; }

    [JsonPropertyName("Hz"), Description("Frequency, Hz")]
    public double? Hz { get; init; }

    [JsonPropertyName("rated_power_W"), Description("Rated power, W")]
    public double? RatedPowerW { get; init; }

    [JsonPropertyName("heatsink_C"), Description("Heatsink temperature, °C")]
    public double? HeatsinkC { get; init; }

    [JsonPropertyName("lower_limit_W"), Description("Power lower limit, W")]
    public double? LowerLimitW { get; init; }

    [JsonPropertyName("upper_limit_W"), Description("Power upper limit, W")]
    public double? UpperLimitW { get; init; }

    [JsonPropertyName("total_charge_Wh"), Description("Energy charged, Wh")]
    public double? TotalChargeWh { get; init; }

    [JsonPropertyName("total_discharge_Wh"), Description("Energy discharged, Wh")]
    public double? TotalDischargeWh { get; init; }

    [JsonPropertyName("L1_V"), Description("Voltage l1, V")]
    public double? L1V { get; init; }

    [JsonPropertyName("L1_A"), Description("Current l1, A")]
    public double? L1A { get; init; }

    [JsonPropertyName("L1_W"), Description("Active power l1, W")]
    public double? L1W { get; init; }

    [JsonPropertyName("L2_V"), Description("Voltage l2, V")]
    public double? L2V { get; init; }

    [JsonPropertyName("L2_A"), Description("Current l2, A")]
    public double? L2A { get; init; }

    [JsonPropertyName("L2_W"), Description("Active power l2, W")]
    public double? L2W { get; init; }

    [JsonPropertyName("L3_V"), Description("Voltage l3, V")]
    public double? L3V { get; init; }

    [JsonPropertyName("L3_A"), Description("Current l3, A")]
    public double? L3A { get; init; }

    [JsonPropertyName("L3_W"), Description("Active power l3, W")]
    public double? L3W { get; init; }

    [JsonPropertyName("mppt1_V"), Description("Mppt1 voltage, V")]
    public double? Mppt1V { get; init; }

    [JsonPropertyName("mppt1_A"), Description("Mppt1 current, A")]
    public double? Mppt1A { get; init; }

    [JsonPropertyName("mppt2_V"), Description("Mppt2 voltage, V")]
    public double? Mppt2V { get; init; }

    [JsonPropertyName("mppt2_A"), Description("Mppt2 current, A")]
    public double? Mppt2A { get; init; }

    [JsonPropertyName("total_generation_Wh"), Description("Energy generated, Wh")]
    public double? TotalGenerationWh { get; init; }

    [JsonPropertyName("SoC_nom_fract"), Description("State of charge, fraction 0–1")]
    public double? SoCNomFract { get; init; }

    [JsonPropertyName("temperature_C"), Description("Temperature, °C")]
    public double? TemperatureC { get; init; }

    [JsonPropertyName("SoH_fract"), Description("State of health, fraction 0–1")]
    public double? SoHFract { get; init; }

    [JsonPropertyName("available_charge_Wh"), Description("Available charge energy, Wh")]
    public double? AvailableChargeWh { get; init; }

    [JsonPropertyName("available_discharge_Wh"), Description("Available discharge energy, Wh")]
    public double? AvailableDischargeWh { get; init; }

    [JsonPropertyName("total_import_Wh"), Description("Energy import, Wh")]
    public double? TotalImportWh { get; init; }

    [JsonPropertyName("total_export_Wh"), Description("Energy export, Wh")]
    public double? TotalExportWh { get; init; }

    [JsonPropertyName("remaining_credit"), Description("A prepaid meter's remaining credit, in its tariff's currency")]
    public double? RemainingCredit { get; init; }

    [JsonPropertyName("dc_W"), Description("Dc power, W")]
    public double? DcW { get; init; }

    [JsonPropertyName("dc_V"), Description("Dc voltage, V")]
    public double? DcV { get; init; }

    [JsonPropertyName("dc_A"), Description("Dc current, A")]
    public double? DcA { get; init; }

    [JsonPropertyName("vehicle_soc_fract"), Description("Vehicle state of charge, fraction 0–1")]
    public double? VehicleSocFract { get; init; }

    [JsonPropertyName("ev_target_energy_req_Wh"), Description("Ev target energy request, Wh")]
    public double? EvTargetEnergyReqWh { get; init; }

    [JsonPropertyName("ev_max_energy_req_Wh"), Description("Ev max energy request, Wh")]
    public double? EvMaxEnergyReqWh { get; init; }

    [JsonPropertyName("ev_min_energy_req_Wh"), Description("Ev min energy request, Wh")]
    public double? EvMinEnergyReqWh { get; init; }

    [JsonPropertyName("session_charge_Wh"), Description("Session energy charged, Wh")]
    public double? SessionChargeWh { get; init; }

    [JsonPropertyName("session_discharge_Wh"), Description("Session energy discharged, Wh")]
    public double? SessionDischargeWh { get; init; }

    [JsonPropertyName("capacity_Wh"), Description("Capacity, Wh")]
    public double? CapacityWh { get; init; }

    [JsonPropertyName("status")]
    public System.Text.Json.JsonElement? Status { get; init; }

    [JsonPropertyName("protocol")]
    public System.Text.Json.JsonElement? Protocol { get; init; }

    [JsonPropertyName("control_mode")]
    public System.Text.Json.JsonElement? ControlMode { get; init; }

    [JsonPropertyName("plug_connected")]
    public System.Text.Json.JsonElement? PlugConnected { get; init; }
}
