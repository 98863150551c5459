using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Wattstream.Server.Families.Whatwatt;

// What the whatwatt endpoints write, declared for the API description only: the bodies themselves are written by
// WhatwattLive, WhatwattReport and WhatwattDeviceView (cached bytes on the hot path). A member the meter does not provide is
// left out, as the device leaves it out, so none is required beyond what is always there.

/// <summary>The data of one <c>event: live</c> on <c>/api/v1/live</c>: flat, in kW, kWh, kvar, kvarh, V and A.</summary>
public sealed class WhatwattLiveData
{
    [JsonPropertyName("P_In"), Description("Active power import, kW")]
    public double? PIn { get; init; }

    [JsonPropertyName("P_Out"), Description("Active power export, kW")]
    public double? POut { get; init; }

    [JsonPropertyName("P_P1_In"), Description("Active power import l1, kW")]
    public double? PP1In { get; init; }

    [JsonPropertyName("P_P2_In"), Description("Active power import l2, kW")]
    public double? PP2In { get; init; }

    [JsonPropertyName("P_P3_In"), Description("Active power import l3, kW")]
    public double? PP3In { get; init; }

    [JsonPropertyName("P_P1_Out"), Description("Active power export l1, kW")]
    public double? PP1Out { get; init; }

    [JsonPropertyName("P_P2_Out"), Description("Active power export l2, kW")]
    public double? PP2Out { get; init; }

    [JsonPropertyName("P_P3_Out"), Description("Active power export l3, kW")]
    public double? PP3Out { get; init; }

    [JsonPropertyName("P_P_In"), Description("Max demand import, kW")]
    public double? PPIn { get; init; }

    [JsonPropertyName("P_P_In_T1"), Description("Max demand import t1, kW")]
    public double? PPInT1 { get; init; }

    [JsonPropertyName("P_P_In_T2"), Description("Max demand import t2, kW")]
    public double? PPInT2 { get; init; }

    [JsonPropertyName("rP_In"), Description("Reactive power import, kvar")]
    public double? RPIn { get; init; }

    [JsonPropertyName("rP_Out"), Description("Reactive power export, kvar")]
    public double? RPOut { get; init; }

    [JsonPropertyName("rP_P1_In"), Description("Reactive power import l1, kvar")]
    public double? RPP1In { get; init; }

    [JsonPropertyName("rP_P2_In"), Description("Reactive power import l2, kvar")]
    public double? RPP2In { get; init; }

    [JsonPropertyName("rP_P3_In"), Description("Reactive power import l3, kvar")]
    public double? RPP3In { get; init; }

    [JsonPropertyName("rP_P1_Out"), Description("Reactive power export l1, kvar")]
    public double? RPP1Out { get; init; }

    [JsonPropertyName("rP_P2_Out"), Description("Reactive power export l2, kvar")]
    public double? RPP2Out { get; init; }

    [JsonPropertyName("rP_P3_Out"), Description("Reactive power export l3, kvar")]
    public double? RPP3Out { get; init; }

    [JsonPropertyName("PF"), Description("Power factor")]
    public double? PF { get; init; }

    [JsonPropertyName("I_P1"), Description("Current l1, A")]
    public double? IP1 { get; init; }

    [JsonPropertyName("I_P2"), Description("Current l2, A")]
    public double? IP2 { get; init; }

    [JsonPropertyName("I_P3"), Description("Current l3, A")]
    public double? IP3 { get; init; }

    [JsonPropertyName("V_P1"), Description("Voltage l1, V")]
    public double? VP1 { get; init; }

    [JsonPropertyName("V_P2"), Description("Voltage l2, V")]
    public double? VP2 { get; init; }

    [JsonPropertyName("V_P3"), Description("Voltage l3, V")]
    public double? VP3 { get; init; }

    [JsonPropertyName("E_In"), Description("Energy import, kWh")]
    public double? EIn { get; init; }

    [JsonPropertyName("E_In_T1"), Description("Energy import t1, kWh")]
    public double? EInT1 { get; init; }

    [JsonPropertyName("E_In_T2"), Description("Energy import t2, kWh")]
    public double? EInT2 { get; init; }

    [JsonPropertyName("E_Out"), Description("Energy export, kWh")]
    public double? EOut { get; init; }

    [JsonPropertyName("E_Out_T1"), Description("Energy export t1, kWh")]
    public double? EOutT1 { get; init; }

    [JsonPropertyName("E_Out_T2"), Description("Energy export t2, kWh")]
    public double? EOutT2 { get; init; }

    [JsonPropertyName("rE_In"), Description("Reactive energy import, kvarh")]
    public double? REIn { get; init; }

    [JsonPropertyName("rE_Out"), Description("Reactive energy export, kvarh")]
    public double? REOut { get; init; }

    [JsonPropertyName("rEii"), Description("Reactive energy imported inductive, kvarh")]
    public double? REii { get; init; }

    [JsonPropertyName("rEic"), Description("Reactive energy imported capacitive, kvarh")]
    public double? REic { get; init; }

    [JsonPropertyName("rEei"), Description("Reactive energy exported inductive, kvarh")]
    public double? REei { get; init; }

    [JsonPropertyName("rEec"), Description("Reactive energy exported capacitive, kvarh")]
    public double? REec { get; init; }

    [JsonPropertyName("T"), Description("Active tariff")]
    public long? T { get; init; }

    [JsonPropertyName("Vol"), Description("M-Bus volume meters (water, gas, heat), as the device sends them")]
    public System.Text.Json.JsonElement? Vol { get; init; }

    [JsonPropertyName("Date"), Description("The device's local date, yyyy-MM-dd")]
    public required string Date { get; init; }

    [JsonPropertyName("Time"), Description("The device's local time, HH:mm:ss")]
    public required string Time { get; init; }

    [JsonPropertyName("Uptime"), Description("Seconds since the device started")]
    public long? Uptime { get; init; }
}

/// <summary><c>GET /api/v1/report</c>: the meter's latest report, the meter and the adapter.</summary>
public sealed class WhatwattReportDocument
{
    [JsonPropertyName("report")]
    public required WhatwattReportValues Report { get; init; }

    [JsonPropertyName("meter")]
    public required WhatwattMeterInfo Meter { get; init; }

    [JsonPropertyName("system")]
    public required WhatwattSystemSummary System { get; init; }
}

/// <summary>The <c>report</c> object: the meter's values grouped as the device groups them (kW, kvar, kWh, kvarh, V, A).</summary>
public sealed class WhatwattReportValues
{
    [JsonPropertyName("id"), Description("The report's number (the hub's event sequence)")]
    public required long Id { get; init; }

    [JsonPropertyName("interval"), Description("Seconds between the meter's reports, as observed")]
    public double? Interval { get; init; }

    [JsonPropertyName("tariff")]
    public double? Tariff { get; init; }

    [JsonPropertyName("date_time"), Description("Local time, yyyy-MM-ddTHH:mm:ss")]
    public required string DateTime { get; init; }

    [JsonPropertyName("date_time_local"), Description("Local time with its offset")]
    public required string DateTimeLocal { get; init; }

    [JsonPropertyName("date_time_utc"), Description("UTC, yyyy-MM-ddTHH:mm:ssZ")]
    public required string DateTimeUtc { get; init; }

    [JsonPropertyName("instantaneous_power")]
    public WhatwattInstantaneousPower? InstantaneousPower { get; init; }

    [JsonPropertyName("voltage")]
    public WhatwattPhases? Voltage { get; init; }

    [JsonPropertyName("current")]
    public WhatwattPhases? Current { get; init; }

    [JsonPropertyName("energy")]
    public WhatwattEnergy? Energy { get; init; }

    [JsonPropertyName("max_demand")]
    public WhatwattMaxDemand? MaxDemand { get; init; }

    [JsonPropertyName("power_factor")]
    public double? PowerFactor { get; init; }

    [JsonPropertyName("conv_factor")]
    public double? ConvFactor { get; init; }

    [JsonPropertyName("volume"), Description("M-Bus volume meters: bus, meter_id, date_time, cumulative")]
    public IReadOnlyList<WhatwattVolume>? Volume { get; init; }
}

public sealed class WhatwattInstantaneousPower
{
    [JsonPropertyName("active")]
    public WhatwattDirections<WhatwattPhases>? Active { get; init; }

    [JsonPropertyName("reactive")]
    public WhatwattDirections<WhatwattPhases>? Reactive { get; init; }

    [JsonPropertyName("apparent")]
    public WhatwattTotal? Apparent { get; init; }
}

public sealed class WhatwattEnergy
{
    [JsonPropertyName("active")]
    public WhatwattDirections<WhatwattTariffs>? Active { get; init; }

    [JsonPropertyName("reactive")]
    public WhatwattReactiveEnergy? Reactive { get; init; }
}

public sealed class WhatwattReactiveEnergy
{
    [JsonPropertyName("positive")]
    public WhatwattTotal? Positive { get; init; }

    [JsonPropertyName("negative")]
    public WhatwattTotal? Negative { get; init; }

    [JsonPropertyName("imported")]
    public WhatwattQuadrants? Imported { get; init; }

    [JsonPropertyName("exported")]
    public WhatwattQuadrants? Exported { get; init; }
}

public sealed class WhatwattQuadrants
{
    [JsonPropertyName("inductive")]
    public WhatwattTotal? Inductive { get; init; }

    [JsonPropertyName("capacitive")]
    public WhatwattTotal? Capacitive { get; init; }
}

public sealed class WhatwattMaxDemand
{
    [JsonPropertyName("active")]
    public WhatwattPositive<WhatwattTariffs>? Active { get; init; }
}

/// <summary>Import (<c>positive</c>) and export (<c>negative</c>).</summary>
public sealed class WhatwattDirections<T>
    where T : class
{
    [JsonPropertyName("positive")]
    public T? Positive { get; init; }

    [JsonPropertyName("negative")]
    public T? Negative { get; init; }
}

public sealed class WhatwattPositive<T>
    where T : class
{
    [JsonPropertyName("positive")]
    public T? Positive { get; init; }
}

public sealed class WhatwattPhases
{
    [JsonPropertyName("total")]
    public double? Total { get; init; }

    [JsonPropertyName("l1")]
    public double? L1 { get; init; }

    [JsonPropertyName("l2")]
    public double? L2 { get; init; }

    [JsonPropertyName("l3")]
    public double? L3 { get; init; }
}

public sealed class WhatwattTariffs
{
    [JsonPropertyName("total")]
    public double? Total { get; init; }

    [JsonPropertyName("t1")]
    public double? T1 { get; init; }

    [JsonPropertyName("t2")]
    public double? T2 { get; init; }
}

public sealed class WhatwattTotal
{
    [JsonPropertyName("total")]
    public double? Total { get; init; }
}

public sealed class WhatwattVolume
{
    [JsonPropertyName("bus")]
    public System.Text.Json.JsonElement? Bus { get; init; }

    [JsonPropertyName("meter_id")]
    public System.Text.Json.JsonElement? MeterId { get; init; }

    [JsonPropertyName("date_time")]
    public System.Text.Json.JsonElement? DateTime { get; init; }

    [JsonPropertyName("cumulative")]
    public System.Text.Json.JsonElement? Cumulative { get; init; }
}

/// <summary>The meter behind the adapter. <c>status</c> is OK, RECOGNITION, NO DATA or NOT CONNECTED.</summary>
public sealed class WhatwattMeterInfo
{
    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("interface")]
    public required string Interface { get; init; }

    [JsonPropertyName("protocol")]
    public required string Protocol { get; init; }

    [JsonPropertyName("id"), Description("The meter number")]
    public required string Id { get; init; }

    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("vendor")]
    public string? Vendor { get; init; }

    [JsonPropertyName("report_interval"), Description("Seconds between the meter's reports, as observed (/api/v1/system only)")]
    public double? ReportInterval { get; init; }
}

/// <summary>The report's <c>system</c> object.</summary>
public sealed class WhatwattSystemSummary
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("boot_id")]
    public required string BootId { get; init; }

    [JsonPropertyName("time_since_boot"), Description("Seconds")]
    public required long TimeSinceBoot { get; init; }

    [JsonPropertyName("date_time_utc")]
    public required string DateTimeUtc { get; init; }
}

/// <summary><c>GET /api/v1/system</c>: the adapter, its meter, its network and its services.</summary>
public sealed class WhatwattSystemDocument
{
    [JsonPropertyName("device")]
    public required WhatwattDeviceInfo Device { get; init; }

    [JsonPropertyName("meter")]
    public required WhatwattMeterInfo Meter { get; init; }

    [JsonPropertyName("wifi")]
    public required WhatwattWifi Wifi { get; init; }

    [JsonPropertyName("ethernet")]
    public required WhatwattEthernet Ethernet { get; init; }

    [JsonPropertyName("clouds"), Description("Cloud connections (none)")]
    public required IReadOnlyDictionary<string, System.Text.Json.JsonElement> Clouds { get; init; }

    [JsonPropertyName("services")]
    public required WhatwattServices Services { get; init; }
}

public sealed class WhatwattDeviceInfo
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("firmware")]
    public required string Firmware { get; init; }

    [JsonPropertyName("license")]
    public required string License { get; init; }

    [JsonPropertyName("time_since_boot"), Description("Seconds")]
    public required long TimeSinceBoot { get; init; }
}

public sealed class WhatwattWifi
{
    [JsonPropertyName("mode")]
    public required string Mode { get; init; }

    [JsonPropertyName("connected")]
    public required bool Connected { get; init; }
}

public sealed class WhatwattEthernet
{
    [JsonPropertyName("connected")]
    public required bool Connected { get; init; }

    [JsonPropertyName("ip")]
    public required string Ip { get; init; }

    [JsonPropertyName("hostname")]
    public required string Hostname { get; init; }
}

public sealed class WhatwattServices
{
    [JsonPropertyName("live")]
    public required bool Live { get; init; }

    [JsonPropertyName("report")]
    public required bool Report { get; init; }

    [JsonPropertyName("last_reading"), Description("UTC time of the meter's last reading; null before the first")]
    public string? LastReading { get; init; }
}

/// <summary><c>GET /api/v1/settings</c>: the device's documented settings (read-only here; the password is never shown).</summary>
public sealed class WhatwattSettingsDocument
{
    [JsonPropertyName("system")]
    public required WhatwattSystemSettings System { get; init; }

    [JsonPropertyName("services")]
    public required WhatwattServiceSettings Services { get; init; }
}

public sealed class WhatwattSystemSettings
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("host_name"), Description("The device's host name, also its Digest realm")]
    public required string HostName { get; init; }

    [JsonPropertyName("protection"), Description("True when the Web UI password is set: the device's paths need Digest (or Basic) authentication")]
    public required bool Protection { get; init; }

    [JsonPropertyName("power_save")]
    public required bool PowerSave { get; init; }

    [JsonPropertyName("p1_wifi_boost")]
    public required bool P1WifiBoost { get; init; }
}

public sealed class WhatwattServiceSettings
{
    [JsonPropertyName("cloud"), Description("Cloud services, each on or off")]
    public required IReadOnlyDictionary<string, bool> Cloud { get; init; }

    [JsonPropertyName("local"), Description("Local services, each on or off")]
    public required IReadOnlyDictionary<string, bool> Local { get; init; }

    [JsonPropertyName("broadcast"), Description("mDNS announcements")]
    public required bool Broadcast { get; init; }

    [JsonPropertyName("other_energy_provider")]
    public required bool OtherEnergyProvider { get; init; }

    [JsonPropertyName("report_interval"), Description("Seconds")]
    public required int ReportInterval { get; init; }

    [JsonPropertyName("log")]
    public required bool Log { get; init; }

    [JsonPropertyName("meter_proxy")]
    public required bool MeterProxy { get; init; }

    [JsonPropertyName("sd")]
    public required WhatwattSdCard Sd { get; init; }

    [JsonPropertyName("modbus")]
    public required WhatwattModbus Modbus { get; init; }

    [JsonPropertyName("berry")]
    public required WhatwattBerry Berry { get; init; }
}

public sealed class WhatwattSdCard
{
    [JsonPropertyName("enable")]
    public required bool Enable { get; init; }

    [JsonPropertyName("frequency"), Description("Seconds between records")]
    public required int Frequency { get; init; }
}

public sealed class WhatwattModbus
{
    [JsonPropertyName("enable")]
    public required bool Enable { get; init; }

    [JsonPropertyName("port")]
    public required int Port { get; init; }
}

public sealed class WhatwattBerry
{
    [JsonPropertyName("auto_run")]
    public required bool AutoRun { get; init; }

    [JsonPropertyName("run_delay"), Description("Seconds")]
    public required int RunDelay { get; init; }
}
