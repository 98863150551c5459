using Wattstream.Energy.Periods;
using Wattstream.Energy.Tariffs;
using Wattstream.Telemetry;

namespace Wattstream.Energy.Tests;

public class EnergyLedgerTests
{
    private const long H = EnergyLedger.HourMs;
    private static readonly DateTimeOffset Day = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero); // a Monday
    private static readonly long T0 = Day.ToUnixTimeMilliseconds();

    private static RegisterPoint P(int hour, double? inWh, double? outWh = null, double? avgW = null) => new(T0 + (hour * H), inWh, outWh, avgW);

    [Fact]
    public void Hourly_energy_is_the_difference_of_hourly_register_values_with_resets_and_gaps()
    {
        // A meter's import register, last value per hour; hour -1 is the baseline before the range.
        var meter = new RegisterSeries(DerType.Meter, [P(-1, 1000, 50), P(0, 1500, 50), P(1, 2500, 80), P(2, 200, 80), P(4, 1200, 100)]);

        var hours = EnergyLedger.Hours([meter], T0, T0 + (6 * H));

        Assert.Equal([500.0, 1000, 200, 500, 500, 0], hours.Select(h => h.GridImport));
        Assert.Equal([0.0, 30, 0, 10, 10, 0], hours.Select(h => h.GridExport));
        Assert.True(hours[2].Reset);                      // 2500 → 200: counted from zero
        Assert.True(hours[3].Estimated && hours[4].Estimated); // hour 3 has no reading: 1000 Wh spread over 3 and 4
        Assert.Equal([false, false, false, false, false, true], hours.Select(h => h.Missing)); // hour 5: nothing yet
    }

    [Fact]
    public void No_baseline_means_the_first_hour_is_missing()
    {
        var hours = EnergyLedger.Hours([new RegisterSeries(DerType.Meter, [P(0, 1000), P(1, 1400)])], T0, T0 + (2 * H));

        Assert.True(hours[0].Missing);
        Assert.False(hours[1].Missing);
        Assert.Equal(400, hours[1].GridImport);
    }

    [Fact]
    public void Without_a_baseline_an_hour_counts_from_its_own_first_reading_and_is_marked_partial()
    {
        var hours = EnergyLedger.Hours([new RegisterSeries(DerType.Meter, [new RegisterPoint(T0, 1300, null, null, FirstInWh: 1000), P(1, 1500)])], T0, T0 + (2 * H));

        Assert.Equal([300.0, 200], hours.Select(h => h.GridImport));
        Assert.True(hours[0].Missing);
        Assert.False(hours[1].Missing);
    }

    [Fact]
    public void A_day_sums_grid_pv_battery_and_ev_into_home_ratios_and_cost()
    {
        // Hour 10 and 11 of a day: PV makes 3 kWh per hour, the battery takes 1 kWh in hour 10 and gives 0.5 kWh in
        // hour 11, the grid exports 1 kWh in hour 10 and imports 2 kWh in hour 11, an EV charges 1.5 kWh in hour 11.
        var meter = new RegisterSeries(DerType.Meter, [P(9, 10_000, 5_000), P(10, 10_000, 6_000), P(11, 12_000, 6_000)]);
        var pv = new RegisterSeries(DerType.Pv, [P(9, null, 100_000), P(10, null, 103_000), P(11, null, 106_000)]);
        var battery = new RegisterSeries(DerType.Battery, [P(9, 50_000, 40_000), P(10, 51_000, 40_000), P(11, 51_000, 40_500)]);
        var ev = new RegisterSeries(DerType.V2xCharger, [P(9, 7_000, 0), P(10, 7_000, 0), P(11, 8_500, 0)]);
        var hours = EnergyLedger.Hours([meter, pv, battery, ev], T0 + (10 * H), T0 + (12 * H));

        Assert.Equal(1000, hours[0].Home); // 3 PV − 1 export − 1 battery
        Assert.Equal(4000, hours[1].Home); // 2 import + 3 PV + 0.5 battery − 1.5 EV

        // Import costs 0.30 from 07:00 to 20:00 on weekdays, 0.20 otherwise; feed-in pays 0.10.
        var tariff = new Tariff { Currency = "CHF", Import = 0.20, FeedIn = 0.10, Schedule = [new TariffPeriod { Days = "Mon-Fri", From = "07:00", To = "20:00", Import = 0.30 }] };
        var day = Assert.Single(EnergyLedger.Periods(hours, EnergyPeriodKind.Day, TimeZoneInfo.Utc, tariff, Day.AddDays(2)));

        Assert.Equal(2, day.GridImportKwh);
        Assert.Equal(1, day.GridExportKwh);
        Assert.Equal(6, day.PvKwh);
        Assert.Equal(1, day.BatteryInKwh);
        Assert.Equal(0.5, day.BatteryOutKwh);
        Assert.Equal(1.5, day.EvInKwh);
        Assert.Equal(5, day.HomeKwh);
        Assert.Equal(0.6, day.SelfSufficiency);            // 1 − 2/5
        Assert.Equal(0.8333, day.SelfConsumption);         // 1 − 1/6
        Assert.Equal(0.6, day.Cost);                       // 2 kWh × 0.30
        Assert.Equal(0.1, day.Earnings);
        Assert.Equal(0.5, day.Net);
        Assert.False(day.Complete);                        // only 2 of its 24 hours were asked for
        Assert.Contains(EnergyLedger.NoteMissing, day.Notes);
    }

    [Fact]
    public void Local_days_begin_at_local_midnight_and_a_whole_day_of_readings_is_complete()
    {
        var zurich = TimeZoneInfo.FindSystemTimeZoneById("Europe/Zurich"); // UTC+1 in November
        var localMidnight = new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.FromHours(1)).ToUnixTimeMilliseconds();
        var points = Enumerable.Range(-1, 25).Select(h => new RegisterPoint(localMidnight + (h * H), 1000.0 + (h * 100), 0, null)).ToArray();
        var hours = EnergyLedger.Hours([new RegisterSeries(DerType.Meter, points)], localMidnight, localMidnight + (24 * H));

        var day = Assert.Single(EnergyLedger.Periods(hours, EnergyPeriodKind.Day, zurich, null, DateTimeOffset.FromUnixTimeMilliseconds(localMidnight).AddDays(3)));

        Assert.Equal(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.FromHours(1)), day.Start);
        Assert.Equal(2.4, day.GridImportKwh);
        Assert.True(day.Complete);
        Assert.Empty(day.Notes);
        Assert.Null(day.Cost);
    }

    [Fact]
    public void A_der_without_registers_is_integrated_from_power_and_said_so()
    {
        var pv = new RegisterSeries(DerType.Pv, [P(0, null, null, -2000), P(1, null, null, -1500)]);
        var meter = new RegisterSeries(DerType.Meter, [P(-1, 0, 0), P(0, 0, 2000), P(1, 0, 3500)]);
        var hours = EnergyLedger.Hours([pv, meter], T0, T0 + (2 * H));

        Assert.Equal([2000.0, 1500], hours.Select(h => h.Pv));
        Assert.All(hours, h => Assert.True(h.Integrated));
        var day = Assert.Single(EnergyLedger.Periods(hours, EnergyPeriodKind.Day, TimeZoneInfo.Utc, null, Day.AddDays(1)));
        Assert.Contains(EnergyLedger.NoteIntegrated, day.Notes);
        Assert.Equal(0, day.SelfConsumption); // everything generated was exported
    }

    [Fact]
    public void The_current_period_is_in_progress()
    {
        var hours = EnergyLedger.Hours([new RegisterSeries(DerType.Meter, [P(-1, 0), P(0, 100), P(1, 300)])], T0, T0 + (2 * H));

        var day = Assert.Single(EnergyLedger.Periods(hours, EnergyPeriodKind.Day, TimeZoneInfo.Utc, null, Day.AddHours(1.5)));

        Assert.False(day.Complete);
        Assert.Equal([EnergyLedger.NoteInProgress], day.Notes);
        Assert.Equal(0.3, day.GridImportKwh);
    }
}
