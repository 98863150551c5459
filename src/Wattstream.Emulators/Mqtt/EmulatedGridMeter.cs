using Wattstream.Simulation;

namespace Wattstream.Emulators.Mqtt;

/// <summary>
/// A three-phase meter at a house's grid connection, for the MQTT device emulators: the simulator's site (household
/// load with its daily profile and appliances, PV that exports around noon, a battery) gives the power per phase and
/// the voltages; this keeps per-phase import and export registers that integrate that power over time, as a
/// three-phase energy monitor (Tasmota's ADE7880, a Shelly Pro 3EM) counts each phase on its own.
/// </summary>
internal sealed class EmulatedGridMeter
{
    private readonly SimulatedSite _site;
    private readonly double[] _importWh = new double[3];
    private readonly double[] _exportWh = new double[3];
    private readonly TimeZoneInfo _timeZone;
    private DateTimeOffset _last;

    /// <param name="number">The simulated site (1 and up): sites differ in size and PV.</param>
    public EmulatedGridMeter(int number, int seed, DateTimeOffset start, TimeZoneInfo timeZone)
    {
        var random = new Random(unchecked((seed * 7919) + number));
        _timeZone = timeZone;
        _site = new SimulatedSite(new SimulationOptions { Sites = 1, Seed = seed, EvChargerSites = [], PrepaidSites = [] }, number, random, start);
        // A meter that has been counting for a while: its registers start where the site's grid meter does, split over
        // the phases as the household's load is.
        double[] split = [0.45, 0.30, 0.25];
        for (var p = 0; p < 3; p++)
        {
            _importWh[p] = _site.GridMeter.ImportWh * split[p];
            _exportWh[p] = _site.GridMeter.ExportWh / 3;
        }

        _last = start;
        _site.Step(start, TimeSpan.FromSeconds(1));
        Today = Math.Round(random.NextDouble() * 6, 3) * 1000;
        YesterdayWh = (6 + (random.NextDouble() * 10)) * 1000;
        _day = LocalDate(start);
        Time = start;
    }

    private DateOnly _day;

    /// <summary>When the meter last measured.</summary>
    public DateTimeOffset Time { get; private set; }

    /// <summary>Net active power per phase, W: + import, − export.</summary>
    public Phases Watts => _site.GridMeter.Watts;

    /// <summary>Reactive power per phase, var.</summary>
    public Phases Vars => _site.GridMeter.Vars;

    public Phases Volts => _site.GridMeter.Volts;

    public double Frequency => _site.GridMeter.Frequency;

    /// <summary>Apparent power of a phase, VA.</summary>
    public double VoltAmperes(int phase) => Math.Sqrt((Watts[phase] * Watts[phase]) + (Vars[phase] * Vars[phase]));

    /// <summary>A phase's current from its apparent power, A.</summary>
    public double Amps(int phase) => VoltAmperes(phase) / Volts[phase];

    /// <summary>|P| / S of a phase; 0 with nothing flowing, as the devices report.</summary>
    public double PowerFactor(int phase) => VoltAmperes(phase) < 1 ? 0 : Math.Abs(Watts[phase]) / VoltAmperes(phase);

    /// <summary>Energy imported through a phase since the meter was new, Wh.</summary>
    public double ImportWh(int phase) => _importWh[phase];

    /// <summary>Energy exported through a phase since the meter was new, Wh.</summary>
    public double ExportWh(int phase) => _exportWh[phase];

    public double TotalImportWh => _importWh[0] + _importWh[1] + _importWh[2];

    public double TotalExportWh => _exportWh[0] + _exportWh[1] + _exportWh[2];

    /// <summary>Imported today (local day), Wh; Tasmota's <c>Today</c>.</summary>
    public double Today { get; private set; }

    /// <summary>Imported yesterday, Wh; Tasmota's <c>Yesterday</c>.</summary>
    public double YesterdayWh { get; private set; }

    /// <summary>
    /// Measures at <paramref name="now"/>: the site moves on, and each phase's register adds the power it now carries over
    /// the time since the last measurement (the rectangle rule, as the simulator's own meter counts). Time that did not
    /// move changes nothing.
    /// </summary>
    public void Step(DateTimeOffset now)
    {
        var seconds = (now - _last).TotalSeconds;
        if (seconds <= 0)
        {
            return;
        }

        _site.Step(now, TimeSpan.FromSeconds(seconds));
        _last = now;
        Time = now;
        var hours = Math.Min(seconds, 3600) / 3600;
        var imported = 0.0;
        for (var p = 0; p < 3; p++)
        {
            var w = Watts[p];
            if (w >= 0)
            {
                _importWh[p] += w * hours;
                imported += w * hours;
            }
            else
            {
                _exportWh[p] += -w * hours;
            }
        }

        var day = LocalDate(now);
        if (day != _day)
        {
            YesterdayWh = day == _day.AddDays(1) ? Today : 0;
            Today = 0;
            _day = day;
        }

        Today += imported;
    }

    private DateOnly LocalDate(DateTimeOffset time) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(time, _timeZone).DateTime);
}
