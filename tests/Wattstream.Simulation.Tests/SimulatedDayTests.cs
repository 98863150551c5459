using Wattstream.Telemetry;

namespace Wattstream.Simulation.Tests;

/// <summary>Runs the default three sites through simulated days at the default 1 s cadence and checks the physics.</summary>
public class SimulatedDayTests
{
    private static readonly TimeZoneInfo Zurich = TimeZoneInfo.FindSystemTimeZoneById("Europe/Zurich");

    private static SimulationOptions Options(int seed = 7) => new() { Seed = seed, TimeZone = "Europe/Zurich" };

    // A Monday in June: long days, so PV, battery and both tariffs all get exercised.
    private static readonly DateTimeOffset Start = new(2026, 6, 15, 0, 0, 0, TimeSpan.FromHours(2));

    private static readonly Quantity[] Volts = [Quantity.VoltageL1, Quantity.VoltageL2, Quantity.VoltageL3];
    private static readonly Quantity[] Amps = [Quantity.CurrentL1, Quantity.CurrentL2, Quantity.CurrentL3];
    private static readonly Quantity[] Imports = [Quantity.ActivePowerImportL1, Quantity.ActivePowerImportL2, Quantity.ActivePowerImportL3];
    private static readonly Quantity[] Exports = [Quantity.ActivePowerExportL1, Quantity.ActivePowerExportL2, Quantity.ActivePowerExportL3];

    private static double Kw(Reading r, Quantity q) => r.Get(q, Unit.Watt) ?? throw new InvalidOperationException($"{q} missing");

    private static double W(Reading r, Quantity q) => r.Get(q, Unit.Watt) ?? throw new InvalidOperationException($"{q} missing");

    [Fact]
    public void A_day_of_readings_obeys_the_physics()
    {
        var simulator = new SiteSimulator(Options(), Start);
        var sites = simulator.Sites;
        var previous = new Dictionary<(string Der, Quantity Q), double>();
        var counters = new[]
        {
            Quantity.EnergyImport, Quantity.EnergyImportT1, Quantity.EnergyImportT2, Quantity.EnergyExport, Quantity.EnergyExportT1,
            Quantity.EnergyExportT2, Quantity.ReactiveEnergyImport, Quantity.EnergyGenerated, Quantity.EnergyCharged, Quantity.EnergyDischarged,
        };
        var tariffs = new HashSet<double>();
        var maxPv = 0.0;
        var nightPv = 0.0;
        var socs = new List<double>();
        var announcedLimits = new Dictionary<string, (double Lower, double Upper)>();

        for (var second = 1; second <= 86_400; second++)
        {
            var now = Start.AddSeconds(second);
            var readings = simulator.Step(now);
            Assert.Equal(sites.Sum(s => s.Ders.Count()), readings.Count);
            Assert.All(readings, r => Assert.Equal(now.ToUnixTimeMilliseconds(), r.Timestamp));

            foreach (var site in sites)
            {
                var meter = readings.Single(r => r.Der == site.Meter);
                var pv = readings.Single(r => r.Der == site.PvAddress);
                var battery = readings.Single(r => r.Der == site.BatteryAddress);
                var ev = site.EvAddress is null ? null : readings.Single(r => r.Der == site.EvAddress);

                // grid = load − PV − battery discharge + EV (battery W is + charging); meters round to 1 W (3 decimals of kW).
                var grid = Kw(meter, Quantity.ActivePowerImport) - Kw(meter, Quantity.ActivePowerExport);
                var balance = site.Load.Power.Total + W(pv, Quantity.ActivePower) + W(battery, Quantity.ActivePower) + (ev is null ? 0 : W(ev, Quantity.ActivePower));
                Assert.True(Math.Abs(grid - balance) <= 3, $"{site.SiteId} at {now}: grid {grid} W vs balance {balance} W");
                Assert.False(Kw(meter, Quantity.ActivePowerImport) > 0 && Kw(meter, Quantity.ActivePowerExport) > 0, "import and export at once");

                for (var phase = 0; phase < 3; phase++)
                {
                    var v = meter.Get(Volts[phase], Unit.Volt)!.Value;
                    var i = meter.Get(Amps[phase], Unit.Ampere)!.Value;
                    var p = Kw(meter, Imports[phase]) - Kw(meter, Exports[phase]);
                    Assert.InRange(v, 230 * 0.97, 230 * 1.03);
                    Assert.True(Math.Abs(i - (Math.Abs(p) / v)) <= 0.02, $"I {i} A vs |P|/V {Math.Abs(p) / v} A on L{phase + 1}");
                }

                var eIn = meter.Get(Quantity.EnergyImport, Unit.KilowattHour)!.Value;
                var eInTariffs = meter.Get(Quantity.EnergyImportT1, Unit.KilowattHour)!.Value + meter.Get(Quantity.EnergyImportT2, Unit.KilowattHour)!.Value;
                Assert.True(Math.Abs(eIn - eInTariffs) <= 0.002, $"E_In {eIn} vs T1+T2 {eInTariffs}");
                tariffs.Add(meter.Get(Quantity.ActiveTariff, Unit.None)!.Value);

                foreach (var r in new[] { meter, pv, battery, ev })
                {
                    if (r is null)
                    {
                        continue;
                    }

                    foreach (var q in counters)
                    {
                        if (r.TryGet(q, Unit.WattHour, out var value) || r.TryGet(q, Unit.VarHour, out value))
                        {
                            if (previous.TryGetValue((r.Der.Der, q), out var before))
                            {
                                Assert.True(value >= before, $"{r.Der.Der} {q} went down from {before} to {value}");
                            }

                            previous[(r.Der.Der, q)] = value;
                        }
                    }
                }

                var soc = battery.Get(Quantity.StateOfCharge, Unit.Fraction)!.Value;
                Assert.InRange(soc, 0, 1);
                socs.Add(soc);
                // The battery keeps within the limits it announced in its previous reading, and within its rating.
                var batteryW = W(battery, Quantity.ActivePower);
                Assert.InRange(batteryW, -5000, 5000);
                if (announcedLimits.TryGetValue(site.SiteId, out var limits))
                {
                    Assert.InRange(batteryW, limits.Lower - 1, limits.Upper + 1);
                }

                announcedLimits[site.SiteId] = (W(battery, Quantity.PowerLowerLimit), W(battery, Quantity.PowerUpperLimit));

                var pvW = W(pv, Quantity.ActivePower);
                Assert.True(pvW <= 0, "PV generation is negative");
                maxPv = Math.Max(maxPv, -pvW);
                var localHour = TimeZoneInfo.ConvertTime(now, Zurich).Hour;
                if (localHour is < 4 or >= 23)
                {
                    nightPv = Math.Max(nightPv, -pvW);
                }

                if (ev is not null)
                {
                    Assert.InRange(W(ev, Quantity.ActivePower), 0, 11_000);
                }
            }
        }

        Assert.Equal(0, nightPv);
        Assert.True(maxPv > 2000, $"PV peaked at only {maxPv} W on a June day");
        Assert.Equal([1.0, 2.0], tariffs.Order());
        Assert.True(socs.Max() - socs.Min() > 0.2, "the battery's state of charge moves over a day");
    }

    [Fact]
    public void The_ev_charger_runs_sessions_that_fill_the_car()
    {
        var simulator = new SiteSimulator(Options(), Start);
        var site = simulator.Sites[0];
        var sessions = 0;
        var wasPlugged = false;
        double? socAtArrival = null;
        var maxSocGain = 0.0;

        for (var second = 1; second <= 3 * 86_400; second += 2)
        {
            simulator.Step(Start.AddSeconds(second));
            var ev = site.Ev!;
            if (ev.PlugConnected && !wasPlugged)
            {
                sessions++;
                socAtArrival = ev.VehicleSoc;
            }

            if (ev.PlugConnected)
            {
                maxSocGain = Math.Max(maxSocGain, ev.VehicleSoc - socAtArrival!.Value);
                Assert.True(ev.Status is "preparing" or "charging" or "suspended");
            }
            else
            {
                Assert.Equal(0, ev.Watts);
                Assert.Equal("available", ev.Status);
            }

            wasPlugged = ev.PlugConnected;
        }

        Assert.InRange(sessions, 1, 6);
        Assert.True(maxSocGain > 0.1, $"the car gained only {maxSocGain:P0}");
        Assert.Null(simulator.Sites[1].Ev);
    }

    [Fact]
    public void The_same_seed_gives_the_same_readings()
    {
        var a = new SiteSimulator(Options(seed: 42), Start);
        var b = new SiteSimulator(Options(seed: 42), Start);
        var c = new SiteSimulator(Options(seed: 43), Start);

        for (var s = 1; s <= 600; s++)
        {
            var now = Start.AddHours(12).AddSeconds(s);
            var ra = a.Step(now);
            var rb = b.Step(now);
            c.Step(now);
            Assert.Equal(ra.SelectMany(r => r.Measurements), rb.SelectMany(r => r.Measurements));
        }

        Assert.NotEqual(a.Sites[0].GridMeter.ImportWh, c.Sites[0].GridMeter.ImportWh);
    }

    [Fact]
    public void The_default_layout_is_one_org_three_sites_and_one_ev_charger()
    {
        var simulator = new SiteSimulator(new SimulationOptions(), Start);

        Assert.Equal(3, simulator.Sites.Count);
        Assert.All(simulator.Sites, s => Assert.Equal("demo", s.Meter.Org));
        var types = simulator.Sites.SelectMany(s => s.Ders).GroupBy(d => d.Type).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(3, types[DerType.Meter]);
        Assert.Equal(3, types[DerType.Pv]);
        Assert.Equal(3, types[DerType.Battery]);
        Assert.Equal(1, types[DerType.V2xCharger]);
        Assert.Equal(simulator.Sites.Count, simulator.Sites.Select(s => s.MeterNumber).Distinct().Count());
    }

    [Fact]
    public void Time_that_does_not_move_yields_no_readings()
    {
        var simulator = new SiteSimulator(Options(), Start);
        Assert.NotEmpty(simulator.Step(Start.AddSeconds(1)));

        Assert.Empty(simulator.Step(Start.AddSeconds(1)));
        Assert.Empty(simulator.Step(Start));
    }

    [Fact]
    public void The_meter_reports_the_whatwatt_fields_and_local_date_and_time()
    {
        var simulator = new SiteSimulator(Options(), Start);

        var meter = simulator.Step(Start.AddHours(13)).First(r => r.Type == DerType.Meter);

        var json = System.Text.Encoding.UTF8.GetString(Telemetry.Formats.WhatwattLive.ToUtf8(meter));
        foreach (var key in new[] { "\"P_In\"", "\"P_Out\"", "\"P_P3_Out\"", "\"rP_In\"", "\"PF\"", "\"I_P1\"", "\"V_P2\"", "\"E_In_T1\"", "\"E_Out_T2\"", "\"T\"", "\"Uptime\"" })
        {
            Assert.Contains(key, json, StringComparison.Ordinal);
        }

        Assert.Contains("\"Date\":\"2026-06-15\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Time\":\"13:00:00\"", json, StringComparison.Ordinal);
    }
}
