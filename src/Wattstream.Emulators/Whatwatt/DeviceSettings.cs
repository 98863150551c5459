using System.Text.Json.Nodes;

namespace Wattstream.Emulators.Whatwatt;

/// <summary>
/// The device's <c>GET /api/v1/settings</c> body, for the emulator and the hub: the documented <c>system</c> and
/// <c>services</c> members at the device's defaults, except that no cloud service is on (neither reports to one).
/// <c>system.protection</c> is true when a Web UI password is set (the seed's way to tell a protected device); the
/// password itself is write-only on the device and never in the body.
/// </summary>
public static class DeviceSettings
{
    public static JsonObject ToJson(string hostName, bool protection, bool broadcast) => new()
    {
        ["system"] = new JsonObject
        {
            ["name"] = "",
            ["host_name"] = hostName,
            ["protection"] = protection,
            ["power_save"] = false,
            ["p1_wifi_boost"] = true,
        },
        ["services"] = new JsonObject
        {
            ["cloud"] = new JsonObject { ["what_watt"] = false, ["solar_manager"] = false, ["mystrom"] = false, ["stromkonto"] = false },
            ["local"] = new JsonObject { ["solar_manager"] = false },
            ["broadcast"] = broadcast,
            ["other_energy_provider"] = false,
            ["report_interval"] = 30,
            ["log"] = false,
            ["meter_proxy"] = false,
            ["sd"] = new JsonObject { ["enable"] = false, ["frequency"] = 15 },
            ["modbus"] = new JsonObject { ["enable"] = false, ["port"] = 502 },
            ["berry"] = new JsonObject { ["auto_run"] = false, ["run_delay"] = 300 },
        },
    };
}
