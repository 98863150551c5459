using System.Text;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Telemetry.Tests;

public class NovacoreReadingTests
{
    /// <summary><paramref name="json"/> with the address members a written reading carries.</summary>
    internal static string Addressed(string json, DerAddress der)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        node["site_id"] = der.Site;
        node["device_id"] = der.Device;
        node["der_id"] = der.Der;
        return node.ToJsonString();
    }

    public static TheoryData<string, DerType> SampleReadings => new()
    {
        { Samples.NovacorePv, DerType.Pv },
        { Samples.NovacoreBattery, DerType.Battery },
        { Samples.NovacoreMeter, DerType.Meter },
        { Samples.NovacoreCharger, DerType.V2xCharger },
    };

    [Theory]
    [MemberData(nameof(SampleReadings))]
    public void Every_type_round_trips(string json, DerType type)
    {
        var reading = NovacoreReading.Parse(Samples.Utf8(json), Samples.Pv);

        Assert.Equal(type, reading.Type);
        Assert.Equal(1723819200000, reading.Timestamp);
        JsonAssert.Equivalent(Addressed(json, Samples.Pv), Encoding.UTF8.GetString(NovacoreReading.ToUtf8(reading)));
    }

    [Fact]
    public void Charger_strings_bools_and_unknown_arrays_pass_through()
    {
        var r = NovacoreReading.Parse(Samples.Utf8(Samples.NovacoreCharger), Samples.Charger);

        Assert.True(r.TryGetProperty(PropertyNames.Status, out var status));
        Assert.Equal("\"charging\"", status.RawText);
        Assert.True(r.TryGetProperty(PropertyNames.PlugConnected, out var plug));
        Assert.Equal("true", plug.RawText);
        Assert.Equal("limits_W", Assert.Single(r.Extras).Name);
        Assert.Equal(NovacoreReading.FormatName, r.ExtrasOrigin);
    }

    [Fact]
    public void A_novacore_meter_becomes_whatwatt_registers()
    {
        var r = NovacoreReading.Parse(Samples.Utf8(Samples.NovacoreMeter), Samples.Meter);

        var json = Encoding.UTF8.GetString(WhatwattLive.ToUtf8(r, TimeZoneInfo.Utc));

        JsonAssert.Equivalent(
            """{"P_In":0,"P_Out":1.25,"P_P1_In":0,"P_P2_In":0,"P_P3_In":0,"P_P1_Out":0.4,"P_P2_Out":0.35,"P_P3_Out":0.5,"I_P1":2.1,"I_P2":1.9,"I_P3":2.2,"V_P1":231.2,"V_P2":230.4,"V_P3":229.9,"E_In":9876.543,"E_Out":1234.567,"Date":"2024-08-16","Time":"14:40:00"}""",
            json);
    }

    [Fact]
    public void Extras_from_novacore_are_not_written_into_another_format()
    {
        var json = """{"type":"meter","timestamp":1,"W":5,"vendor_field":1}""";
        var r = NovacoreReading.Parse(Samples.Utf8(json), Samples.Meter);

        Assert.DoesNotContain("vendor_field", Encoding.UTF8.GetString(WhatwattLive.ToUtf8(r)), StringComparison.Ordinal);
        Assert.Contains("vendor_field", Encoding.UTF8.GetString(NovacoreReading.ToUtf8(r)), StringComparison.Ordinal);
    }

    [Fact]
    public void Battery_volts_and_amps_are_the_dc_side_and_charger_volts_the_ac_side()
    {
        var battery = NovacoreReading.Parse(Samples.Utf8(Samples.NovacoreBattery), Samples.Battery);
        var charger = NovacoreReading.Parse(Samples.Utf8(Samples.NovacoreCharger), Samples.Charger);

        Assert.Equal(52.1, battery.Get(Quantity.DcVoltage, Unit.Volt));
        Assert.Equal(23.03, battery.Get(Quantity.DcCurrent, Unit.Ampere));
        Assert.Null(battery.Get(Quantity.Voltage, Unit.Volt));
        Assert.Equal(230.1, charger.Get(Quantity.Voltage, Unit.Volt));
    }

    [Fact]
    public void Null_values_are_absent_and_do_not_shift_other_fields()
    {
        var r = NovacoreReading.Parse(Samples.Utf8("""{"type":"battery","timestamp":1,"W":null,"V":51.5,"A":2}"""), Samples.Battery);

        Assert.Null(r.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(51.5, r.Get(Quantity.DcVoltage, Unit.Volt));
        Assert.Equal(2, r.Get(Quantity.DcCurrent, Unit.Ampere));
    }

    [Fact]
    public void A_value_of_another_types_table_is_kept()
    {
        var json = """{"type":"pv","timestamp":1,"W":-5,"Hz":50.1}""";
        var r = NovacoreReading.Parse(Samples.Utf8(json), Samples.Pv);

        JsonAssert.Equivalent(Addressed(json, Samples.Pv), Encoding.UTF8.GetString(NovacoreReading.ToUtf8(r)));
    }

    [Theory]
    [InlineData("""{"timestamp":1,"W":5}""", "'type' is missing")]
    [InlineData("""{"type":"inverter","timestamp":1}""", "'type' must be one of meter, pv, battery, v2x_charger")]
    [InlineData("""{"type":"pv","W":5}""", "'timestamp' is missing")]
    [InlineData("""{"type":"pv","timestamp":"2024-01-01"}""", "'timestamp' must be Unix epoch milliseconds")]
    [InlineData("""{"type":"pv","timestamp":-5}""", "'timestamp' must be Unix epoch milliseconds")]
    [InlineData("""{"type":"pv","timestamp":1,"W":"abc","SoC_nom_fract":[1]}""", "'W' must be a finite number; 'SoC_nom_fract' must be a finite number")]
    [InlineData("""{"type":"pv","timestamp":1,"read_time_ms":-1}""", "'read_time_ms' must be a number ≥ 0")]
    public void Bad_readings_name_every_bad_field(string json, string expected)
    {
        var e = Assert.Throws<TelemetryFormatException>(() => NovacoreReading.Parse(Samples.Utf8(json), Samples.Pv));

        Assert.Equal(expected, e.Message);
    }
}
