using System.Text;
using System.Text.Json.Nodes;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Telemetry.Tests;

public class DerSimOverviewTests
{
    private static Reading Parse(string json) => DerSimOverview.Parse(Samples.Utf8(json), Samples.Pv, fallbackTimestamp: 42);

    [Fact]
    public void Snapshot_round_trips()
    {
        var r = Parse(Samples.DerSimPv);

        JsonAssert.Equivalent(Samples.DerSimPv, Encoding.UTF8.GetString(DerSimOverview.ToUtf8(r, deviceIndex: 0)));
    }

    [Fact]
    public void Pv_power_becomes_negative_watts_and_time_comes_from_metrics()
    {
        var r = Parse(Samples.DerSimPv);

        Assert.Equal(DerType.Pv, r.Type);
        Assert.Equal(-4200, r.Get(Quantity.ActivePower, Unit.Watt)!.Value, 9);
        Assert.Equal(50.01, r.Get(Quantity.Frequency, Unit.Hertz));
        Assert.Equal(DateTimeOffset.Parse("2025-06-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), r.Timestamp);
    }

    [Theory]
    [InlineData("battery", 2.5, "battery", -2500)] // discharging (delivered to the grid) is − for a battery reading
    [InlineData("evse", 7.4, "v2x_charger", 7400)] // charging a vehicle is + for a v2x reading
    [InlineData("wind", 1.0, "pv", -1000)]
    public void Assets_map_to_reading_types_with_their_sign_convention(string asset, double powerKw, string type, double watts)
    {
        var json = $$"""{"metrics":{"power_kw":{{powerKw}},"state_of_charge_pct":64},"asset_type":"{{asset}}"}""";
        var r = Parse(json);

        var novacore = JsonNode.Parse(NovacoreReading.ToUtf8(r))!;
        Assert.Equal(type, (string?)novacore["type"]);
        Assert.Equal(watts, (double)novacore["W"]!, 9);
        Assert.Equal(42, r.Timestamp);
        if (type == "battery")
        {
            Assert.Equal(0.64, (double)novacore["SoC_nom_fract"]!, 9);
        }
    }

    [Fact]
    public void A_novacore_battery_gets_a_plausible_snapshot()
    {
        var r = NovacoreReading.Parse(Samples.Utf8(Samples.NovacoreBattery), Samples.Battery);

        var json = JsonNode.Parse(DerSimOverview.ToUtf8(r, deviceIndex: 3, TimeZoneInfo.Utc))!;

        Assert.Equal(-1.2, (double)json["metrics"]!["power_kw"]!, 9);
        Assert.Equal(64, (double)json["metrics"]!["state_of_charge_pct"]!, 9);
        Assert.Equal(52.1, (double)json["metrics"]!["dc_voltage_v"]!); // a battery's V is its DC terminal voltage
        Assert.Null(json["metrics"]!["voltage_ln_v"]);
        Assert.Equal(-1.2, (double)json["pq"]!["active_kw"]!, 9);
        Assert.Equal("battery", (string?)json["asset_type"]);
        Assert.Equal("battery", (string?)json["dc_mode"]);
        Assert.Equal("Batt", (string?)json["device_type"]);
        Assert.Equal(3, (int)json["device_index"]!);
        Assert.Equal("14:40:00", (string?)json["clock_time"]);
        Assert.Equal("connected", (string?)json["status"]!["connection_state"]);
        Assert.Null(json["metrics"]!["frequency_hz"]); // not invented
    }

    [Fact]
    public void Unknown_nested_fields_return_to_their_object()
    {
        var json = """{"metrics":{"power_kw":1,"rotor_rpm":12},"pq":{"active_kw":1,"x":true},"asset_type":"pv","extra":"y","status":{"service_state":"RUNNING"}}""";
        var r = Parse(json);

        var written = JsonNode.Parse(DerSimOverview.ToUtf8(r, 0))!;

        Assert.Equal(12, (int)written["metrics"]!["rotor_rpm"]!);
        Assert.True((bool)written["pq"]!["x"]!);
        Assert.Equal("y", (string?)written["extra"]);
    }

    [Theory]
    [InlineData("""{"metrics":{"power_kw":1}}""", "'asset_type' must be one of pv, battery, evse, wind, fuelcell, hybrid-dc (was missing)")]
    [InlineData("""{"metrics":{"power_kw":"1"},"asset_type":"pv"}""", "'metrics.power_kw' must be a finite number")]
    [InlineData("""{"metrics":[],"asset_type":"pv"}""", "'metrics' must be an object")]
    public void Bad_snapshots_are_rejected(string json, string expected)
    {
        var e = Assert.Throws<TelemetryFormatException>(() => Parse(json));

        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void Meters_have_no_snapshot()
    {
        Assert.False(DerSimOverview.CanWrite(DerType.Meter));
        var meter = WhatwattLive.Parse(Samples.Utf8(Samples.WhatwattLive), Samples.Meter, 0);
        Assert.Throws<ArgumentException>(() => DerSimOverview.ToUtf8(meter, 0));
    }
}
