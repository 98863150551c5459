using System.Text;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Telemetry.Tests;

public class WhatwattLiveTests
{
    private const long Timestamp = 1724502840000;

    private static Reading Parse(string json) => WhatwattLive.Parse(Samples.Utf8(json), Samples.Meter, Timestamp);

    private static string Write(Reading r) => Encoding.UTF8.GetString(WhatwattLive.ToUtf8(r));

    [Fact]
    public void Seed_sample_round_trips_to_the_byte()
    {
        var reading = Parse(Samples.WhatwattLive);

        JsonAssert.Identical(Samples.WhatwattLive, Write(reading));
    }

    [Fact]
    public void Seed_sample_maps_keys_to_quantities_with_units()
    {
        var r = Parse(Samples.WhatwattLive);

        Assert.Equal(DerType.Meter, r.Type);
        Assert.Equal(Timestamp, r.Timestamp);
        Assert.Equal(new Measurement(Quantity.ActivePowerImport, 0.036, Unit.Kilowatt), r.Measurements[0]);
        Assert.Equal(36, r.Get(Quantity.ActivePowerImport, Unit.Watt)!.Value, 9);
        Assert.Equal(47_251, r.Get(Quantity.EnergyImport, Unit.WattHour)!.Value, 6);
        Assert.Equal(229.8, r.Get(Quantity.VoltageL2, Unit.Volt));
        Assert.Equal(1, r.Get(Quantity.ActiveTariff, Unit.None));
        Assert.Equal(71.05, r.Get(Quantity.Uptime, Unit.Hour));
        Assert.True(r.TryGetProperty(PropertyNames.LocalDate, out var date));
        Assert.Equal("\"2024-08-24\"", date.RawText);
        Assert.Empty(r.Extras);
    }

    [Fact]
    public void Unknown_firmware_fields_are_kept_and_written_back()
    {
        var json = """{"P_In":1.5,"Foo":{"a":[1,2]},"P_Out":0,"Bar":"x","Date":"2024-08-24","Time":"14:34:00"}""";
        var r = Parse(json);

        Assert.Equal(["Foo", "Bar"], r.Extras.Select(e => e.Name));
        JsonAssert.Equivalent(json, Write(r));
    }

    [Fact]
    public void Missing_fields_stay_missing_in_every_format()
    {
        var r = Parse("""{"P_In":1.5,"V_P1":230}""");

        var whatwatt = Write(r);
        Assert.DoesNotContain("P_Out", whatwatt, StringComparison.Ordinal);
        Assert.DoesNotContain("E_In", whatwatt, StringComparison.Ordinal);
        Assert.DoesNotContain("Uptime", whatwatt, StringComparison.Ordinal);

        var novacore = Encoding.UTF8.GetString(NovacoreReading.ToUtf8(r));
        JsonAssert.Equivalent("""{"type":"meter","timestamp":1724502840000,"site_id":"site-1","device_id":"meter-device","der_id":"62124022443","W":1500,"L1_V":230}""", novacore);
    }

    [Fact]
    public void Date_and_time_come_from_the_timestamp_when_the_source_had_none()
    {
        var r = Parse("""{"P_In":1}""");

        var json = Encoding.UTF8.GetString(WhatwattLive.ToUtf8(r, TimeZoneInfo.Utc));

        Assert.Contains("\"Date\":\"2024-08-24\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Time\":\"12:34:00\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Seed_sample_becomes_a_novacore_meter_reading_by_the_spec_mapping()
    {
        var r = Parse(Samples.WhatwattLive);

        var novacore = Encoding.UTF8.GetString(NovacoreReading.ToUtf8(r));

        // W = (P_In − P_Out) × 1000; Ln_W from the phase registers; energies × 1000; no Hz (the device has none).
        JsonAssert.Equivalent(
            """{"type":"meter","timestamp":1724502840000,"site_id":"site-1","device_id":"meter-device","der_id":"62124022443","W":36,"L1_V":230.1,"L1_A":0,"L1_W":0,"L2_V":229.8,"L2_A":0,"L2_W":0,"L3_V":230.4,"L3_A":0,"L3_W":0,"total_import_Wh":47251,"total_export_Wh":8965}""",
            novacore);
    }

    [Theory]
    [InlineData("""{"P_In":"abc"}""", "'P_In' must be a finite number")]
    [InlineData("""{"P_In":"NaN","V_P1":true}""", "'P_In' must be a finite number; 'V_P1' must be a finite number")]
    [InlineData("""[1,2]""", "a live payload must be a JSON object")]
    [InlineData("""{"P_In":1""", "malformed JSON")]
    [InlineData("""{"P_In":NaN}""", "malformed JSON")]
    [InlineData("""{"P_In":1} {}""", "malformed JSON")]
    [InlineData("", "malformed JSON")]
    public void Malformed_payloads_are_rejected_naming_every_bad_field(string json, string expected)
    {
        var e = Assert.Throws<TelemetryFormatException>(() => Parse(json));

        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_values_are_treated_as_absent()
    {
        var r = Parse("""{"P_In":null,"P_Out":0.5}""");

        Assert.False(r.TryGetRaw(Quantity.ActivePowerImport, out _));
        Assert.Equal(-500, r.Get(Quantity.ActivePower, Unit.Watt));
    }

    [Fact]
    public void Writing_a_non_meter_reading_is_refused()
    {
        var pv = NovacoreReading.Parse(Samples.Utf8(Samples.NovacorePv), Samples.Pv);

        Assert.Throws<ArgumentException>(() => WhatwattLive.ToUtf8(pv));
    }
}
