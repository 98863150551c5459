using Wattstream.Telemetry;

namespace Wattstream.Simulation.Devices;

/// <summary>
/// The three-phase grid meter at the connection point, as a whatwatt adapter reads it: per-phase power, voltage and
/// current, import/export registers per tariff that only ever grow, reactive power and energy by quadrant, power factor.
/// </summary>
public sealed class GridMeter
{
    private readonly Random _random;
    private readonly double[] _voltageDrift = new double[3];

    public GridMeter(Random random, double importWh, double exportWh)
    {
        _random = random;
        // Start with the registers split between the tariffs roughly as a household's would be.
        ImportT1Wh = importWh * 0.7;
        ImportT2Wh = importWh * 0.3;
        ExportT1Wh = exportWh * 0.85;
        ExportT2Wh = exportWh * 0.15;
        ReactiveImportVarh = importWh * 0.12;
        ImportedInductiveVarh = ReactiveImportVarh * 0.8;
        ExportedCapacitiveVarh = ReactiveImportVarh * 0.2;
    }

    /// <summary>
    /// Takes the registers over from the meter's last reading (another node simulated it before): a register only ever
    /// grows, so one the reading lacks, or holds lower, stays as it is.
    /// </summary>
    public void ContinueFrom(Reading last)
    {
        ImportT1Wh = Register(last, Quantity.EnergyImportT1, Unit.WattHour, ImportT1Wh);
        ImportT2Wh = Register(last, Quantity.EnergyImportT2, Unit.WattHour, ImportT2Wh);
        ExportT1Wh = Register(last, Quantity.EnergyExportT1, Unit.WattHour, ExportT1Wh);
        ExportT2Wh = Register(last, Quantity.EnergyExportT2, Unit.WattHour, ExportT2Wh);
        ReactiveImportVarh = Register(last, Quantity.ReactiveEnergyImport, Unit.VarHour, ReactiveImportVarh);
        ReactiveExportVarh = Register(last, Quantity.ReactiveEnergyExport, Unit.VarHour, ReactiveExportVarh);
        ImportedInductiveVarh = Register(last, Quantity.ReactiveEnergyImportedInductive, Unit.VarHour, ImportedInductiveVarh);
        ImportedCapacitiveVarh = Register(last, Quantity.ReactiveEnergyImportedCapacitive, Unit.VarHour, ImportedCapacitiveVarh);
        ExportedInductiveVarh = Register(last, Quantity.ReactiveEnergyExportedInductive, Unit.VarHour, ExportedInductiveVarh);
        ExportedCapacitiveVarh = Register(last, Quantity.ReactiveEnergyExportedCapacitive, Unit.VarHour, ExportedCapacitiveVarh);

        // Each register is written rounded to the Wh on its own, so the two tariffs' may add up to a little less than the
        // total written beside them; the total must not step back either, so the tariff in force takes the difference.
        if (last.TryGet(Quantity.EnergyImport, Unit.WattHour, out var import) && import > ImportWh)
        {
            (ImportT1Wh, ImportT2Wh) = Tariff == 1 ? (ImportT1Wh + import - ImportWh, ImportT2Wh) : (ImportT1Wh, ImportT2Wh + import - ImportWh);
        }

        if (last.TryGet(Quantity.EnergyExport, Unit.WattHour, out var export) && export > ExportWh)
        {
            (ExportT1Wh, ExportT2Wh) = Tariff == 1 ? (ExportT1Wh + export - ExportWh, ExportT2Wh) : (ExportT1Wh, ExportT2Wh + export - ExportWh);
        }
    }

    internal static double Register(Reading last, Quantity quantity, Unit unit, double current) =>
        last.TryGet(quantity, unit, out var value) && value > current ? value : current;

    /// <summary>Net active power per phase in W: + import, − export.</summary>
    public Phases Watts { get; private set; }

    /// <summary>Net reactive power per phase in var: + inductive (Q+), − capacitive.</summary>
    public Phases Vars { get; private set; }

    public Phases Volts { get; private set; } = new(230, 230, 230);

    /// <summary>|P| / V per phase.</summary>
    public Phases Amps { get; private set; }

    public double Frequency { get; private set; } = 50;

    /// <summary>The active tariff: 1 (high, weekdays 07–20 local) or 2 (low).</summary>
    public int Tariff { get; private set; } = 1;

    public double ImportT1Wh { get; private set; }

    public double ImportT2Wh { get; private set; }

    public double ExportT1Wh { get; private set; }

    public double ExportT2Wh { get; private set; }

    public double ImportWh => ImportT1Wh + ImportT2Wh;

    public double ExportWh => ExportT1Wh + ExportT2Wh;

    public double ReactiveImportVarh { get; private set; }

    public double ReactiveExportVarh { get; private set; }

    // By quadrant: Q1 imported inductive, Q2 exported capacitive, Q3 exported inductive, Q4 imported capacitive.
    public double ImportedInductiveVarh { get; private set; }

    public double ImportedCapacitiveVarh { get; private set; }

    public double ExportedInductiveVarh { get; private set; }

    public double ExportedCapacitiveVarh { get; private set; }

    /// <summary>The meter's total active power: + import, − export (phases are summed, as Swiss and German meters do).</summary>
    public double TotalWatts => Watts.Total;

    public double TotalVars => Vars.Total;

    /// <summary>|P| / S of the totals; 0 with no load, like the device reports.</summary>
    public double PowerFactor
    {
        get
        {
            var s = Math.Sqrt((TotalWatts * TotalWatts) + (TotalVars * TotalVars));
            return s < 1 ? 0 : Math.Abs(TotalWatts) / s;
        }
    }

    public void Step(DateTimeOffset localNow, double seconds, Phases netWatts, Phases netVars)
    {
        Watts = netWatts;
        Vars = netVars;
        Tariff = localNow.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && localNow.Hour is >= 7 and < 20 ? 1 : 2;

        // Voltage: a slow random drift of the grid (±1.5 %), minus the drop of what this house draws, plus the rise of what it feeds in.
        var volts = new double[3];
        for (var p = 0; p < 3; p++)
        {
            _voltageDrift[p] = Math.Clamp((_voltageDrift[p] * 0.995) + (0.0008 * ((_random.NextDouble() * 2) - 1)), -0.015, 0.015);
            volts[p] = Math.Clamp(230 * (1 + _voltageDrift[p]) - (netWatts[p] / 230 * 0.12), 223, 237);
        }

        Volts = new Phases(volts[0], volts[1], volts[2]);
        Amps = new Phases(Math.Abs(netWatts.L1) / Volts.L1, Math.Abs(netWatts.L2) / Volts.L2, Math.Abs(netWatts.L3) / Volts.L3);
        Frequency = Math.Clamp(Frequency + (0.004 * ((_random.NextDouble() * 2) - 1)) + ((50 - Frequency) * 0.05), 49.9, 50.1);

        var hours = seconds / 3600;
        var p0 = TotalWatts;
        var q0 = TotalVars;
        if (p0 >= 0)
        {
            if (Tariff == 1) { ImportT1Wh += p0 * hours; } else { ImportT2Wh += p0 * hours; }
        }
        else
        {
            if (Tariff == 1) { ExportT1Wh += -p0 * hours; } else { ExportT2Wh += -p0 * hours; }
        }

        if (q0 >= 0) { ReactiveImportVarh += q0 * hours; } else { ReactiveExportVarh += -q0 * hours; }

        switch (p0 >= 0, q0 >= 0)
        {
            case (true, true): ImportedInductiveVarh += q0 * hours; break;
            case (false, true): ExportedCapacitiveVarh += q0 * hours; break;
            case (false, false): ExportedInductiveVarh += -q0 * hours; break;
            case (true, false): ImportedCapacitiveVarh += -q0 * hours; break;
        }
    }
}
