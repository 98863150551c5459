using System.Text.Json.Nodes;
using Wattstream.Energy.Balance;
using Wattstream.Energy.Summaries;
using Wattstream.Storage;
using Wattstream.Telemetry;

namespace Wattstream.Energy.Tests;

/// <summary>The power-flow lines a summary carries (<c>toHomeW</c>): signed once here, so no client flips a sign itself.</summary>
public class PowerFlowTests
{
    private static Reading R(DerType type, string der, double watts) =>
        new(new DerAddress("o", "s", "d", der), type, 1000, null, [new(Quantity.ActivePower, watts, Unit.Watt)]);

    private static JsonNode Json(PowerBalance balance, DateTimeOffset? staleSince = null) =>
        JsonNode.Parse(new SiteSummary("o", "s", balance, null, null, 1, staleSince).Json.Span)!;

    [Fact]
    public void Every_line_is_positive_toward_the_home_and_the_lines_sum_to_home()
    {
        // Importing 1.2 kW, PV making 3 kW (negative in Novacore's sign), the battery charging 1 kW, the car discharging 0.5 kW.
        var b = PowerBalance.Of([R(DerType.Meter, "m", 1200), R(DerType.Pv, "pv", -3000), R(DerType.Battery, "b", 1000), R(DerType.V2xCharger, "ev", -500)]);

        Assert.Equal(1200, b.GridToHomeW);
        Assert.Equal(3000, b.PvToHomeW);
        Assert.Equal(-1000, b.BatteryToHomeW); // charging: away from the home
        Assert.Equal(500, b.EvToHomeW);        // vehicle-to-home: toward it
        Assert.Equal(b.HomeW, b.GridToHomeW + b.PvToHomeW + b.BatteryToHomeW + b.EvToHomeW);
        Assert.Equal(3700, b.HomeW);
    }

    [Fact]
    public void Exporting_and_discharging_point_the_other_way()
    {
        var b = PowerBalance.Of([R(DerType.Meter, "m", -2000), R(DerType.Pv, "pv", -1500), R(DerType.Battery, "b", -800), R(DerType.V2xCharger, "ev", 0)]);

        Assert.Equal(-2000, b.GridToHomeW);
        Assert.Equal(800, b.BatteryToHomeW);
        Assert.Equal(300, b.HomeW);
        Assert.Equal(b.HomeW, b.GridToHomeW + b.PvToHomeW + b.BatteryToHomeW + b.EvToHomeW);
    }

    [Fact]
    public void The_summary_json_carries_the_lines_and_an_idle_battery_is_never_negative_zero()
    {
        var json = Json(PowerBalance.Of([R(DerType.Meter, "m", 700), R(DerType.Pv, "pv", -300), R(DerType.Battery, "b", 0)]));
        var lines = json["toHomeW"]!;

        Assert.Equal(700, (double)lines["grid"]!);
        Assert.Equal(300, (double)lines["pv"]!);
        Assert.Equal("0", lines["battery"]!.ToJsonString()); // not "-0"
        Assert.Null(lines["ev"]);                             // the site has no charger
        Assert.Equal(1000, (double)json["homeW"]!);
        Assert.False((bool)json["stale"]!);
        Assert.Null(json["staleSince"]);
    }

    [Fact]
    public void A_stale_summary_says_so()
    {
        var json = Json(PowerBalance.Of([R(DerType.Meter, "m", 700)]), staleSince: new DateTimeOffset(2026, 12, 7, 5, 0, 0, TimeSpan.Zero));

        Assert.True((bool)json["stale"]!);
        Assert.Equal("2026-12-07T05:00:00.000Z", (string?)json["staleSince"]);
    }

    [Fact]
    public void Without_readings_every_line_is_unknown()
    {
        var lines = Json(PowerBalance.Of([]))["toHomeW"]!.AsObject();

        Assert.Equal(["grid", "pv", "battery", "ev"], lines.Select(l => l.Key));
        Assert.All(lines, l => Assert.Null(l.Value));
    }

    [Fact]
    public void The_balance_over_time_is_each_buckets_balance_and_skips_buckets_a_der_is_missing_from()
    {
        DerAddress meter = new("o", "s", "d", "m"), pv = new("o", "s", "d", "pv"), battery = new("o", "s", "d", "b");
        var types = new Dictionary<DerAddress, DerType> { [meter] = DerType.Meter, [pv] = DerType.Pv, [battery] = DerType.Battery };
        HistorySeries Series(DerAddress der, params double?[] watts) => new(der, [.. watts.Select((w, i) => new HistoryPoint(i * 10_000L, [w]))]);

        // Bucket 2 is still filling: the battery's reading of it has not come.
        var balances = PowerHistory.Of([Series(meter, 1200, -2000, 500), Series(pv, -3000, -1500, -400), Series(battery, 1000, -800, null)], types);

        Assert.Equal([0L, 10_000L], balances.Select(b => b.Timestamp));
        Assert.Equal(3200, balances[0].HomeW);
        Assert.Equal(-1000, balances[0].BatteryToHomeW);
        Assert.Equal(300, balances[1].HomeW);
        Assert.Equal(-2000, balances[1].GridToHomeW);
        Assert.Equal(800, balances[1].BatteryToHomeW);
    }

    [Fact]
    public void A_der_with_no_power_in_the_window_does_not_hold_every_bucket_back()
    {
        DerAddress meter = new("o", "s", "d", "m"), ev = new("o", "s", "d", "ev");
        var types = new Dictionary<DerAddress, DerType> { [meter] = DerType.Meter, [ev] = DerType.V2xCharger };

        var balances = PowerHistory.Of([new(meter, [new HistoryPoint(0, [700])]), new(ev, [new HistoryPoint(0, [null])])], types);

        Assert.Equal(700, Assert.Single(balances).HomeW);
    }
}
