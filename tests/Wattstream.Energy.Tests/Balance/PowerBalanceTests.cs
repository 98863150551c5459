using Wattstream.Energy.Balance;
using Wattstream.Telemetry;

namespace Wattstream.Energy.Tests;

public class PowerBalanceTests
{
    private static Reading R(DerType type, string der, double watts, double? soc = null)
    {
        List<Measurement> m = [new(Quantity.ActivePower, watts, Unit.Watt)];
        if (soc is { } s)
        {
            m.Add(new Measurement(Quantity.StateOfCharge, s, Unit.Fraction));
        }

        return new Reading(new DerAddress("o", "s", "d", der), type, 1000, null, m);
    }

    [Fact]
    public void A_battery_charging_from_pv_while_the_grid_supplies_the_rest()
    {
        // The grid imports 1.2 kW, PV makes 3 kW (negative in Novacore's sign), the battery takes 1 kW.
        var b = PowerBalance.Of([R(DerType.Meter, "m", 1200), R(DerType.Pv, "pv", -3000), R(DerType.Battery, "b", 1000, 0.5)]);

        Assert.Equal(3200, b.HomeW);
        Assert.Equal(1200, b.GridImportW);
        Assert.Equal(0, b.GridExportW);
        Assert.Equal(1000, b.BatteryChargeW);
        Assert.Equal(0.625, b.SelfSufficiency); // 2 of 3.2 kW not from the grid
        Assert.Equal(1, b.SelfConsumption);     // all PV used on site
        Assert.Equal(0.5, b.BatterySoc);
    }

    [Fact]
    public void Export_lowers_self_consumption_and_a_discharging_battery_feeds_the_home()
    {
        var exporting = PowerBalance.Of([R(DerType.Meter, "m", -2000), R(DerType.Pv, "pv", -3000)]);
        Assert.Equal(1000, exporting.HomeW);
        Assert.Equal(2000, exporting.GridExportW);
        Assert.Equal(1, exporting.SelfSufficiency);
        Assert.Equal(1.0 / 3, exporting.SelfConsumption!.Value, 9);

        var night = PowerBalance.Of([R(DerType.Meter, "m", 0), R(DerType.Battery, "b", -800), R(DerType.Pv, "pv", 0)]);
        Assert.Equal(800, night.HomeW);
        Assert.Equal(800, night.BatteryDischargeW);
        Assert.Equal(1, night.SelfSufficiency);
        Assert.Null(night.SelfConsumption); // no generation: nothing to use
    }

    [Fact]
    public void An_ev_session_is_not_home_consumption()
    {
        var b = PowerBalance.Of([R(DerType.Meter, "m", 7400), R(DerType.V2xCharger, "ev", 7000)]);

        Assert.Equal(400, b.HomeW);
        Assert.Equal(7000, b.EvW);
        Assert.Equal(0, b.SelfSufficiency);
    }

    [Fact]
    public void Without_a_grid_meter_home_is_unknown()
    {
        var b = PowerBalance.Of([R(DerType.Pv, "pv", -1000)]);

        Assert.Null(b.HomeW);
        Assert.Null(b.SelfSufficiency);
    }
}
