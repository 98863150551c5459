using System.Globalization;
using System.Text;
using Wattstream.Simulation.Devices;
using Wattstream.Telemetry;

namespace Wattstream.Simulation;

/// <summary>
/// One simulated site: a house load, PV, a battery run for self-consumption, optionally an EV charger, and the grid meter
/// that sees the balance. Each step advances the physics and returns one reading per DER.
/// </summary>
public sealed class SimulatedSite
{
    private readonly TimeZoneInfo _timeZone;
    private readonly double _uptimeOffsetHours;
    private readonly DateTimeOffset _bootTime;
    private readonly Random _random;
    private const double ControllerBiasWatts = 40;
    private const double ControllerLagSeconds = 4;
    private readonly ImportPrice? _importPrice;
    private DateTimeOffset? _last;
    private double _batteryRequest;

    public SimulatedSite(SimulationOptions options, int number, Random random, DateTimeOffset start, ImportPrice? importPrice = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Number = number;
        _random = random;
        _timeZone = options.ResolveTimeZone();
        _bootTime = start;
        _uptimeOffsetHours = Math.Round(random.NextDouble() * 200, 2);
        SiteId = $"site-{number}";
        MeterNumber = (62124022440L + number).ToString(CultureInfo.InvariantCulture);
        Meter = new DerAddress(options.Org, SiteId, $"meter-{number}", MeterNumber);
        PvAddress = new DerAddress(options.Org, SiteId, $"inverter-{number}", $"pv-{number}");
        BatteryAddress = new DerAddress(options.Org, SiteId, $"inverter-{number}", $"battery-{number}");

        var size = 0.8 + (0.2 * ((number - 1) % 3)); // sites differ in size
        Load = new HouseLoad(random, size);
        Pv = new PvArray(random, ratedWatts: 5000 + (2500 * ((number - 1) % 3)), options.Latitude, options.Longitude, totalGenerationWh: 4_000_000 + (random.NextDouble() * 8_000_000));
        Battery = new HomeBattery(capacityWh: 10_000 * size, maxPowerWatts: 5000, stateOfCharge: 0.3 + (random.NextDouble() * 0.4), totalChargeWh: 1_500_000 * size, totalDischargeWh: 1_400_000 * size);
        GridMeter = new GridMeter(random, importWh: 9_000_000 + (random.NextDouble() * 6_000_000), exportWh: 2_000_000 + (random.NextDouble() * 3_000_000));
        if (options.PrepaidSites.Contains(number))
        {
            Credit = new PrepaidCredit(options.PrepaidTopUp, options.PrepaidThreshold);
            _importPrice = importPrice;
        }

        if (options.EvChargerSites.Contains(number))
        {
            Ev = new EvCharger(random, ratedWatts: 11_000, totalChargeWh: 3_000_000 + (random.NextDouble() * 2_000_000));
            EvAddress = new DerAddress(options.Org, SiteId, $"charger-{number}", $"ev-{number}");
        }
    }

    public int Number { get; }

    public string SiteId { get; }

    /// <summary>The meter's number (its DER id), as a head-end system knows it.</summary>
    public string MeterNumber { get; }

    public DerAddress Meter { get; }

    public DerAddress PvAddress { get; }

    public DerAddress BatteryAddress { get; }

    public DerAddress? EvAddress { get; }

    public HouseLoad Load { get; }

    public PvArray Pv { get; }

    public HomeBattery Battery { get; }

    public EvCharger? Ev { get; }

    public GridMeter GridMeter { get; }

    /// <summary>The grid meter's credit when it is a prepaid meter (<see cref="SimulationOptions.PrepaidSites"/>).</summary>
    public PrepaidCredit? Credit { get; }

    /// <summary>Every DER of the site with its type.</summary>
    public IEnumerable<(DerAddress Address, DerType Type)> Ders
    {
        get
        {
            yield return (Meter, DerType.Meter);
            yield return (PvAddress, DerType.Pv);
            yield return (BatteryAddress, DerType.Battery);
            if (EvAddress is not null)
            {
                yield return (EvAddress, DerType.V2xCharger);
            }
        }
    }

    /// <summary>
    /// Goes on from the site's last readings (<paramref name="last"/> gives a DER's, or null): the energy registers and
    /// the battery's charge continue where the node that simulated the site before left them, so a counter that only
    /// grows never steps back when the simulator moves between cluster nodes.
    /// </summary>
    public void ContinueFrom(Func<DerAddress, Reading?> last)
    {
        ArgumentNullException.ThrowIfNull(last);
        if (last(Meter) is { } meter)
        {
            GridMeter.ContinueFrom(meter);
        }

        if (last(PvAddress) is { } pv)
        {
            Pv.ContinueFrom(pv);
        }

        if (last(BatteryAddress) is { } battery)
        {
            Battery.ContinueFrom(battery);
        }

        if (Ev is not null && EvAddress is not null && last(EvAddress) is { } ev)
        {
            Ev.ContinueFrom(ev);
        }
    }

    /// <summary>Advances to <paramref name="now"/> and returns one reading per DER; nothing when time did not move.</summary>
    public IReadOnlyList<Reading> Step(DateTimeOffset now, TimeSpan nominalInterval)
    {
        var seconds = _last is { } last ? (now - last).TotalSeconds : nominalInterval.TotalSeconds;
        if (seconds <= 0)
        {
            return [];
        }

        seconds = Math.Min(seconds, 3600);
        _last = now;
        var local = TimeZoneInfo.ConvertTime(now, _timeZone);

        Load.Step(local, seconds);
        Pv.Step(now, seconds);
        Ev?.Step(local, seconds);
        var evWatts = Ev?.Watts ?? 0;

        // Self-consumption: surplus charges the battery, a deficit discharges it. Like a real controller it follows the
        // balance with a lag of a few seconds and aims a little above zero import, so the grid still sees the load's swings.
        var target = Pv.GenerationWatts - Load.Power.Total - evWatts - ControllerBiasWatts;
        _batteryRequest += (target - _batteryRequest) * (1 - Math.Exp(-seconds / ControllerLagSeconds));
        Battery.Step(_batteryRequest, seconds);

        // What the grid meter sees per phase: the load's own split, the inverter and the wallbox balanced over three phases.
        var net = Load.Power + Phases.Balanced(evWatts + Battery.Watts - Pv.GenerationWatts);
        var importedBefore = GridMeter.ImportWh;
        GridMeter.Step(local, seconds, net, Load.ReactivePower);
        Credit?.Charge(GridMeter.ImportWh - importedBefore, _importPrice?.Invoke(SiteId, now) ?? 0);

        var timestamp = now.ToUnixTimeMilliseconds();
        var readings = new List<Reading>(4)
        {
            MeterReading(timestamp, local, now),
            PvReading(timestamp),
            BatteryReading(timestamp),
        };
        if (Ev is not null)
        {
            readings.Add(EvReading(timestamp));
        }

        return readings;
    }

    private double ReadTime() => Math.Round(15 + (_random.NextDouble() * 60));

    private Reading MeterReading(long timestamp, DateTimeOffset local, DateTimeOffset now)
    {
        var m = GridMeter;
        var values = new List<Measurement>(48)
        {
            Kw(Quantity.ActivePowerImport, Math.Max(0, m.TotalWatts)),
            Kw(Quantity.ActivePowerExport, Math.Max(0, -m.TotalWatts)),
            Kw(Quantity.ActivePowerImportL1, Math.Max(0, m.Watts.L1)),
            Kw(Quantity.ActivePowerImportL2, Math.Max(0, m.Watts.L2)),
            Kw(Quantity.ActivePowerImportL3, Math.Max(0, m.Watts.L3)),
            Kw(Quantity.ActivePowerExportL1, Math.Max(0, -m.Watts.L1)),
            Kw(Quantity.ActivePowerExportL2, Math.Max(0, -m.Watts.L2)),
            Kw(Quantity.ActivePowerExportL3, Math.Max(0, -m.Watts.L3)),
            Kvar(Quantity.ReactivePowerImport, Math.Max(0, m.TotalVars)),
            Kvar(Quantity.ReactivePowerExport, Math.Max(0, -m.TotalVars)),
            Kvar(Quantity.ReactivePowerImportL1, Math.Max(0, m.Vars.L1)),
            Kvar(Quantity.ReactivePowerImportL2, Math.Max(0, m.Vars.L2)),
            Kvar(Quantity.ReactivePowerImportL3, Math.Max(0, m.Vars.L3)),
            Kvar(Quantity.ReactivePowerExportL1, Math.Max(0, -m.Vars.L1)),
            Kvar(Quantity.ReactivePowerExportL2, Math.Max(0, -m.Vars.L2)),
            Kvar(Quantity.ReactivePowerExportL3, Math.Max(0, -m.Vars.L3)),
            new(Quantity.PowerFactor, Math.Round(m.PowerFactor, 2), Unit.None),
            new(Quantity.CurrentL1, Math.Round(m.Amps.L1, 2), Unit.Ampere),
            new(Quantity.CurrentL2, Math.Round(m.Amps.L2, 2), Unit.Ampere),
            new(Quantity.CurrentL3, Math.Round(m.Amps.L3, 2), Unit.Ampere),
            new(Quantity.VoltageL1, Math.Round(m.Volts.L1, 1), Unit.Volt),
            new(Quantity.VoltageL2, Math.Round(m.Volts.L2, 1), Unit.Volt),
            new(Quantity.VoltageL3, Math.Round(m.Volts.L3, 1), Unit.Volt),
            Kwh(Quantity.EnergyImport, m.ImportWh),
            Kwh(Quantity.EnergyImportT1, m.ImportT1Wh),
            Kwh(Quantity.EnergyImportT2, m.ImportT2Wh),
            Kwh(Quantity.EnergyExport, m.ExportWh),
            Kwh(Quantity.EnergyExportT1, m.ExportT1Wh),
            Kwh(Quantity.EnergyExportT2, m.ExportT2Wh),
            Kvarh(Quantity.ReactiveEnergyImport, m.ReactiveImportVarh),
            Kvarh(Quantity.ReactiveEnergyExport, m.ReactiveExportVarh),
            Kvarh(Quantity.ReactiveEnergyImportedInductive, m.ImportedInductiveVarh),
            Kvarh(Quantity.ReactiveEnergyImportedCapacitive, m.ImportedCapacitiveVarh),
            Kvarh(Quantity.ReactiveEnergyExportedInductive, m.ExportedInductiveVarh),
            Kvarh(Quantity.ReactiveEnergyExportedCapacitive, m.ExportedCapacitiveVarh),
            new(Quantity.ActiveTariff, m.Tariff, Unit.None),
            new(Quantity.Frequency, Math.Round(m.Frequency, 2), Unit.Hertz),
            new(Quantity.Uptime, Math.Round(_uptimeOffsetHours + (now - _bootTime).TotalHours, 2), Unit.Hour),
        };
        if (Credit is not null)
        {
            values.Add(new(Quantity.RemainingCredit, Math.Round(Credit.Credit, 2), Unit.None)); // to the cent, as the meter shows it
        }

        ReadingField[] properties =
        [
            JsonString(PropertyNames.LocalDate, local.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
            JsonString(PropertyNames.LocalTime, local.ToString("HH:mm:ss", CultureInfo.InvariantCulture)),
        ];
        return new Reading(Meter, DerType.Meter, timestamp, ReadTime(), values, properties);
    }

    private Reading PvReading(long timestamp)
    {
        var pv = Pv;
        Measurement[] values =
        [
            W(Quantity.ActivePower, -pv.GenerationWatts),
            W(Quantity.RatedPower, pv.RatedWatts),
            new(Quantity.Mppt1Voltage, Math.Round(pv.Mppt1.Volts, 1), Unit.Volt),
            new(Quantity.Mppt1Current, Math.Round(pv.Mppt1.Amps, 2), Unit.Ampere),
            new(Quantity.Mppt2Voltage, Math.Round(pv.Mppt2.Volts, 1), Unit.Volt),
            new(Quantity.Mppt2Current, Math.Round(pv.Mppt2.Amps, 2), Unit.Ampere),
            new(Quantity.HeatsinkTemperature, Math.Round(pv.HeatsinkCelsius, 1), Unit.Celsius),
            Wh(Quantity.EnergyGenerated, pv.TotalGenerationWh),
            W(Quantity.DcPower, pv.DcWatts),
            new(Quantity.DcVoltage, Math.Round(pv.Mppt1.Volts, 1), Unit.Volt),
            new(Quantity.DcCurrent, Math.Round(pv.Mppt1.Volts > 0 ? pv.DcWatts / pv.Mppt1.Volts : 0, 2), Unit.Ampere),
            .. AcSide(pv.GenerationWatts, PvPowerFactor),
        ];
        return new Reading(PvAddress, DerType.Pv, timestamp, ReadTime(), values, [JsonString(PropertyNames.Make, "Wattstream simulator")]);
    }

    private Reading BatteryReading(long timestamp)
    {
        var b = Battery;
        Measurement[] values =
        [
            W(Quantity.ActivePower, b.Watts),
            new(Quantity.DcVoltage, Math.Round(b.Volts, 2), Unit.Volt),
            new(Quantity.DcCurrent, Math.Round(b.Amps, 2), Unit.Ampere),
            new(Quantity.StateOfCharge, Math.Round(b.StateOfCharge, 4), Unit.Fraction),
            new(Quantity.Temperature, Math.Round(22 + (Math.Abs(b.Watts) / 1000), 1), Unit.Celsius),
            Wh(Quantity.EnergyCharged, b.TotalChargeWh),
            Wh(Quantity.EnergyDischarged, b.TotalDischargeWh),
            W(Quantity.PowerUpperLimit, b.UpperLimitWatts),
            W(Quantity.PowerLowerLimit, b.LowerLimitWatts),
            new(Quantity.StateOfHealth, 0.97, Unit.Fraction),
            Wh(Quantity.AvailableChargeEnergy, b.AvailableChargeWh),
            Wh(Quantity.AvailableDischargeEnergy, b.AvailableDischargeWh),
            W(Quantity.DcPower, b.Volts * b.Amps),
            new(Quantity.SocMin, 0, Unit.Percent),
            new(Quantity.SocMax, 100, Unit.Percent),
            new(Quantity.SocReserveMin, Math.Round(b.MinStateOfCharge * 100, 1), Unit.Percent),
            new(Quantity.SocReserveMax, Math.Round(b.MaxStateOfCharge * 100, 1), Unit.Percent),
            .. AcSide(b.Watts, BatteryPowerFactor),
        ];
        return new Reading(BatteryAddress, DerType.Battery, timestamp, ReadTime(), values, [JsonString(PropertyNames.Make, "Wattstream simulator")]);
    }

    private Reading EvReading(long timestamp)
    {
        var ev = Ev!;
        var volts = GridMeter.Volts;
        var phaseWatts = ev.Watts / 3;
        var values = new List<Measurement>(24)
        {
            W(Quantity.ActivePower, ev.Watts),
            new(Quantity.Current, Math.Round(ev.PhaseAmps, 2), Unit.Ampere),
            new(Quantity.Voltage, Math.Round((volts.L1 + volts.L2 + volts.L3) / 3, 1), Unit.Volt),
            new(Quantity.Frequency, Math.Round(GridMeter.Frequency, 2), Unit.Hertz),
            new(Quantity.VoltageL1, Math.Round(volts.L1, 1), Unit.Volt),
            new(Quantity.CurrentL1, Math.Round(phaseWatts / volts.L1, 2), Unit.Ampere),
            W(Quantity.ActivePowerL1, phaseWatts),
            new(Quantity.VoltageL2, Math.Round(volts.L2, 1), Unit.Volt),
            new(Quantity.CurrentL2, Math.Round(phaseWatts / volts.L2, 2), Unit.Ampere),
            W(Quantity.ActivePowerL2, phaseWatts),
            new(Quantity.VoltageL3, Math.Round(volts.L3, 1), Unit.Volt),
            new(Quantity.CurrentL3, Math.Round(phaseWatts / volts.L3, 2), Unit.Ampere),
            W(Quantity.ActivePowerL3, phaseWatts),
            Wh(Quantity.SessionEnergyCharged, ev.SessionChargeWh),
            Wh(Quantity.SessionEnergyDischarged, 0),
            Wh(Quantity.EnergyCharged, ev.TotalChargeWh),
            Wh(Quantity.EnergyDischarged, 0),
            W(Quantity.RatedPower, ev.RatedWatts),
        };
        foreach (var m in AcSide(ev.Watts, EvPowerFactor))
        {
            if (m.Quantity is not (Quantity.Voltage or Quantity.Current or Quantity.Frequency))
            {
                values.Add(m); // the charger reports its voltage, current and frequency itself (above)
            }
        }

        var properties = new List<ReadingField>(5)
        {
            JsonString(PropertyNames.Make, "Wattstream simulator"),
            JsonString(PropertyNames.Status, ev.Status),
            JsonString(PropertyNames.ControlMode, "dynamic"),
            new(PropertyNames.PlugConnected, ev.PlugConnected ? "true"u8.ToArray() : "false"u8.ToArray()),
        };
        if (ev.PlugConnected)
        {
            values.Add(new(Quantity.VehicleStateOfCharge, Math.Round(ev.VehicleSoc, 4), Unit.Fraction));
            values.Add(Wh(Quantity.EvTargetEnergyRequest, ev.TargetEnergyRequestWh));
            values.Add(Wh(Quantity.EvMaxEnergyRequest, ev.MaxEnergyRequestWh));
            values.Add(Wh(Quantity.EvMinEnergyRequest, 0));
            values.Add(Wh(Quantity.Capacity, ev.VehicleCapacityWh));
            properties.Add(JsonString(PropertyNames.Protocol, "ISO_15118_2"));
        }

        return new Reading(EvAddress!, DerType.V2xCharger, timestamp, ReadTime(), values, properties);
    }

    // Inverters run near unity power factor (a grid code allows 0.9 either way); a charger's rectifier a little below.
    private const double PvPowerFactor = 0.99;
    private const double BatteryPowerFactor = 0.98;
    private const double EvPowerFactor = 0.97;

    /// <summary>
    /// The AC side of a three-phase inverter or charger exchanging <paramref name="watts"/> with the site's grid
    /// connection, in the SunSpec DER AC measurement's terms (model 701): the phase-to-neutral and phase-to-phase voltage
    /// averages, the phase current, frequency, and reactive and apparent power, consistent with each other:
    /// S = |P| / PF, Q = √(S² − P²) (absorbing, as a grid code's fixed power factor asks), V_LL = √3·V_LN, I = S / (3·V_LN).
    /// </summary>
    private Measurement[] AcSide(double watts, double powerFactor)
    {
        var volts = GridMeter.Volts;
        var vln = Math.Round((volts.L1 + volts.L2 + volts.L3) / 3, 1);
        var apparent = Math.Abs(watts) / powerFactor;
        var reactive = Math.Sqrt(Math.Max(0, (apparent * apparent) - (watts * watts)));
        return
        [
            new(Quantity.Voltage, vln, Unit.Volt),
            new(Quantity.VoltageLineToLine, Math.Round(vln * Math.Sqrt(3), 1), Unit.Volt),
            new(Quantity.Current, Math.Round(apparent / (3 * vln), 2), Unit.Ampere),
            new(Quantity.Frequency, Math.Round(GridMeter.Frequency, 2), Unit.Hertz),
            new(Quantity.ReactivePower, Math.Round(reactive, 1), Unit.Var),
            new(Quantity.ApparentPower, Math.Round(apparent, 1), Unit.VoltAmpere),
        ];
    }

    // Meters report kW and kWh to three decimals; inverters whole W and Wh.
    private static Measurement Kw(Quantity q, double watts) => new(q, Math.Round(watts / 1000, 3), Unit.Kilowatt);

    private static Measurement Kvar(Quantity q, double vars) => new(q, Math.Round(vars / 1000, 3), Unit.Kilovar);

    private static Measurement Kwh(Quantity q, double wh) => new(q, Math.Round(wh / 1000, 3), Unit.KilowattHour);

    private static Measurement Kvarh(Quantity q, double varh) => new(q, Math.Round(varh / 1000, 3), Unit.KilovarHour);

    private static Measurement W(Quantity q, double watts) => new(q, Math.Round(watts) + 0.0, Unit.Watt);

    private static Measurement Wh(Quantity q, double wh) => new(q, Math.Round(wh), Unit.WattHour);

    private static ReadingField JsonString(string name, string value) =>
        new(name, Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(value)));
}
