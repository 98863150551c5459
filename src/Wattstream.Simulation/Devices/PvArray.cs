using Wattstream.Telemetry;

namespace Wattstream.Simulation.Devices;

/// <summary>
/// A PV system behind a three-phase inverter: clear-sky power from the sun's elevation, dimmed by clouds that drift
/// in and pass; two MPPT strings; the heatsink warms with output; the generation counter integrates the power.
/// </summary>
public sealed class PvArray
{
    private readonly Random _random;
    private readonly double _latitude;
    private readonly double _longitude;
    private double _cloud;
    private double _cloudTarget;

    public PvArray(Random random, double ratedWatts, double latitude, double longitude, double totalGenerationWh)
    {
        _random = random;
        RatedWatts = ratedWatts;
        _latitude = latitude;
        _longitude = longitude;
        TotalGenerationWh = totalGenerationWh;
        _cloud = random.NextDouble() * 0.3;
    }

    public double RatedWatts { get; }

    /// <summary>AC output in W (≥ 0).</summary>
    public double GenerationWatts { get; private set; }

    public double TotalGenerationWh { get; private set; }

    /// <summary>Takes the generation register over from the inverter's last reading (another node simulated it before).</summary>
    public void ContinueFrom(Reading last) =>
        TotalGenerationWh = GridMeter.Register(last, Quantity.EnergyGenerated, Unit.WattHour, TotalGenerationWh);

    public double HeatsinkCelsius { get; private set; } = 18;

    /// <summary>DC input in W: both strings together, before the inverter's losses.</summary>
    public double DcWatts => (Mppt1.Volts * Mppt1.Amps) + (Mppt2.Volts * Mppt2.Amps);

    public (double Volts, double Amps) Mppt1 { get; private set; }

    public (double Volts, double Amps) Mppt2 { get; private set; }

    public void Step(DateTimeOffset now, double seconds)
    {
        // Clouds: a mean-reverting cover that now and then jumps to a new target (a cloud arrives or leaves).
        if (_random.NextDouble() < seconds / 600)
        {
            _cloudTarget = _random.NextDouble() < 0.6 ? _random.NextDouble() * 0.25 : 0.4 + (_random.NextDouble() * 0.6);
        }

        var pull = 1 - Math.Exp(-seconds / 90);
        _cloud = Math.Clamp(_cloud + ((_cloudTarget - _cloud) * pull) + (0.01 * ((_random.NextDouble() * 2) - 1)), 0, 1);

        var elevation = SolarPosition.ElevationDegrees(now, _latitude, _longitude);
        var clearSky = RatedWatts * ClearSky.Fraction(now, _latitude, _longitude);
        var dc = clearSky * (1 - (0.75 * _cloud));
        GenerationWatts = dc < 5 ? 0 : dc * 0.97;
        TotalGenerationWh += GenerationWatts * seconds / 3600;

        var ambient = 12 + (Math.Max(0, elevation) * 0.25);
        var targetHeatsink = ambient + (GenerationWatts / RatedWatts * 30);
        HeatsinkCelsius += (targetHeatsink - HeatsinkCelsius) * (1 - Math.Exp(-seconds / 300));

        // Two strings share the DC power 55/45; the MPPT voltage rises with light and falls when hot.
        var vmp = dc <= 0 ? 0 : 340 + (40 * Math.Min(1, dc / RatedWatts)) - (0.6 * (HeatsinkCelsius - 25));
        Mppt1 = vmp <= 0 ? (0, 0) : (vmp, dc * 0.55 / vmp);
        Mppt2 = vmp <= 0 ? (0, 0) : (vmp * 0.98, dc * 0.45 / (vmp * 0.98));
    }
}
