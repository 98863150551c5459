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
    public void An_idle_inverter_reports_zero_power_and_angle_never_a_negative_zero_or_180_degrees()
    {
        var idle = Parse("""{"metrics":{"power_kw":0,"reactive_power_kvar":0},"asset_type":"pv"}"""); // 0 kW flips to -0 W inside

        var dersim = Encoding.UTF8.GetString(DerSimOverview.ToUtf8(idle, deviceIndex: 0, TimeZoneInfo.Utc));
        var novacore = Encoding.UTF8.GetString(NovacoreReading.ToUtf8(NovacoreReading.Parse(Samples.Utf8("""{"type":"pv","timestamp":42,"W":-0.0}"""), Samples.Pv)));

        Assert.DoesNotMatch(@":-0(?![.\d])", dersim);
        Assert.Contains("\"power_kw\":0", dersim, StringComparison.Ordinal);
        Assert.Equal(0, (double)JsonNode.Parse(dersim)!["pq"]!["angle_deg"]!);
        Assert.DoesNotMatch(@":-0(?![.\d])", novacore);
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

public class DerSimSnapshotShapeTests
{
    private static readonly string[] MetricKeys =
    [
        "power_kw", "reactive_power_kvar", "apparent_power_kva", "voltage_ll_v", "voltage_ln_v", "current_a", "frequency_hz",
        "power_factor", "dc_power_kw", "dc_voltage_v", "dc_current_a", "state_of_charge_pct", "soc_reserve_min_pct",
        "soc_reserve_max_pct", "soc_min_pct", "soc_max_pct", "timestamp",
    ];

    [Fact]
    public void Every_documented_key_is_present_with_null_where_nothing_is_known()
    {
        var reading = new Reading(Samples.Pv, DerType.Pv, 1_795_000_000_000, null, [new Measurement(Quantity.ActivePower, -2000, Unit.Watt)]);

        var snapshot = JsonNode.Parse(DerSimOverview.ToUtf8(reading, deviceIndex: 0))!;

        var metrics = snapshot["metrics"]!.AsObject();
        Assert.Equal(MetricKeys.Order(), metrics.Select(m => m.Key).Order());
        Assert.Equal(2.0, (double)metrics["power_kw"]!);
        Assert.Null(metrics["frequency_hz"]);
        Assert.Null(metrics["state_of_charge_pct"]);
        Assert.Equal(["active_kw", "angle_deg", "apparent_kva", "reactive_kvar"], snapshot["pq"]!.AsObject().Select(m => m.Key).Order());
        Assert.Null(snapshot["pq"]!["angle_deg"]);
    }

    [Fact]
    public void Missing_ac_values_are_derived_from_the_others()
    {
        var reading = new Reading(Samples.Pv, DerType.Pv, 1_795_000_000_000, null,
        [
            new Measurement(Quantity.ActivePower, -3000, Unit.Watt),
            new Measurement(Quantity.ReactivePower, 400, Unit.Var),
            new Measurement(Quantity.Voltage, 230, Unit.Volt),
            new Measurement(Quantity.DcVoltage, 400, Unit.Volt),
            new Measurement(Quantity.DcCurrent, 8, Unit.Ampere),
        ]);

        var m = JsonNode.Parse(DerSimOverview.ToUtf8(reading, deviceIndex: 0))!["metrics"]!;

        var s = Math.Sqrt((3.0 * 3.0) + (0.4 * 0.4));
        Assert.Equal(Math.Round(s, 3), (double)m["apparent_power_kva"]!, 3);
        Assert.Equal(Math.Round(3.0 / s, 3), (double)m["power_factor"]!, 3);
        Assert.Equal(Math.Round(230 * Math.Sqrt(3), 1), (double)m["voltage_ll_v"]!, 1);
        Assert.Equal(Math.Round(s * 1000 / (3 * 230), 2), (double)m["current_a"]!, 2);
        Assert.Equal(3.2, (double)m["dc_power_kw"]!, 3);
    }
}
