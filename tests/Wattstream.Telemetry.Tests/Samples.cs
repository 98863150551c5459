using System.Text;
using Wattstream.Telemetry;

namespace Wattstream.Telemetry.Tests;

/// <summary>Payloads from the seed documents and specs (shared/seeds, shared/spec).</summary>
internal static class Samples
{
    public static readonly DerAddress Meter = new("org-1", "site-1", "meter-device", "62124022443");
    public static readonly DerAddress Pv = new("org-1", "site-1", "inverter-1", "pv-1");
    public static readonly DerAddress Battery = new("org-1", "site-1", "inverter-1", "battery-1");
    public static readonly DerAddress Charger = new("org-1", "site-1", "charger-1", "ev-1");

    /// <summary>The whatwatt seed's "Example event stream data".</summary>
    public const string WhatwattLive =
        """{"P_In":0.036,"P_Out":0,"P_P1_In":0,"P_P2_In":0,"P_P3_In":0,"P_P1_Out":0,"P_P2_Out":0,"P_P3_Out":0,"rP_In":0,"rP_Out":0,"rP_P1_In":0,"rP_P2_In":0,"rP_P3_In":0,"rP_P1_Out":0,"rP_P2_Out":0,"rP_P3_Out":0,"PF":0,"I_P1":0,"I_P2":0,"I_P3":0,"V_P1":230.1,"V_P2":229.8,"V_P3":230.4,"E_In":47.251,"E_In_T1":33.388,"E_In_T2":14.668,"E_Out":8.965,"E_Out_T1":7.868,"E_Out_T2":1.097,"rE_In":0,"rE_Out":0,"rEii":0,"rEic":0,"rEei":0,"rEec":0,"T":1,"Vol":[{"Bus":1,"M_ID":"12345678","DT":"2024-08-24T14:34:00","Cum":123.45}],"Date":"2024-08-24","Time":"14:34:00","Uptime":71.05}""";

    public const string NovacorePv =
        """{"type":"pv","make":"Huawei","timestamp":1723819200000,"read_time_ms":42,"W":-3450.5,"rated_power_W":8000,"mppt1_V":380.2,"mppt1_A":5.1,"mppt2_V":372.8,"mppt2_A":4.2,"heatsink_C":41.5,"total_generation_Wh":12345678,"lower_limit_W":-8000,"upper_limit_W":0}""";

    public const string NovacoreBattery =
        """{"type":"battery","timestamp":1723819200000,"read_time_ms":35,"W":1200,"V":52.1,"A":23.03,"SoC_nom_fract":0.64,"heatsink_C":28.4,"total_charge_Wh":1500000,"total_discharge_Wh":1400000,"upper_limit_W":5000,"lower_limit_W":-5000,"SoH_fract":0.97}""";

    public const string NovacoreMeter =
        """{"type":"meter","timestamp":1723819200000,"read_time_ms":20,"W":-1250,"Hz":50.02,"L1_V":231.2,"L1_A":2.1,"L1_W":-400,"L2_V":230.4,"L2_A":1.9,"L2_W":-350,"L3_V":229.9,"L3_A":2.2,"L3_W":-500,"total_import_Wh":9876543,"total_export_Wh":1234567}""";

    public const string NovacoreCharger =
        """{"type":"v2x_charger","timestamp":1723819200000,"read_time_ms":50,"W":7400,"A":10.7,"V":230.1,"Hz":50,"L1_V":230.1,"L1_A":10.7,"L1_W":2466,"vehicle_soc_fract":0.55,"session_charge_Wh":5400,"session_discharge_Wh":0,"total_charge_Wh":3000000,"total_discharge_Wh":0,"status":"charging","protocol":"ISO_15118_2","control_mode":"dynamic","plug_connected":true,"capacity_Wh":60000,"rated_power_W":11000,"limits_W":[0,11000]}""";

    /// <summary>A DERSim overview snapshot with every key of the spec's payload table.</summary>
    public const string DerSimPv =
        """{"metrics":{"power_kw":4.2,"reactive_power_kvar":0.3,"apparent_power_kva":4.21,"voltage_ll_v":400.1,"voltage_ln_v":231,"current_a":6.1,"frequency_hz":50.01,"power_factor":0.99,"dc_power_kw":4.35,"dc_voltage_v":380,"dc_current_a":11.4,"state_of_charge_pct":0,"soc_reserve_min_pct":0,"soc_reserve_max_pct":0,"soc_min_pct":0,"soc_max_pct":0,"timestamp":"2025-06-01T12:00:00Z"},"pq":{"active_kw":4.2,"reactive_kvar":0.3,"apparent_kva":4.21,"angle_deg":4.09},"status":{"service_state":"RUNNING","inverter_state":"MPPT","connection_state":"CONNECTED"},"clock_time":"12:00:00","dc_mode":"pv","dc_port_count":2,"device_type":"PV-3Phase","device_profile_name":null,"asset_type":"pv","device_index":0}""";

    public static ReadOnlySpan<byte> Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
