namespace Wattstream.Simulation.Devices;

/// <summary>
/// A household's consumption: a base load with a fridge cycling, a morning and an evening peak, and appliances that
/// switch on at random (more often when people are awake), each on its own phase, with a little noise.
/// </summary>
public sealed class HouseLoad
{
    private static readonly Appliance[] Appliances =
    [
        new("kettle", 2000, TimeSpan.FromMinutes(3), 0, 1.5),
        new("oven", 2400, TimeSpan.FromMinutes(40), 1, 0.25),
        new("washing machine", 1900, TimeSpan.FromMinutes(25), 2, 0.2),
        new("dishwasher", 1800, TimeSpan.FromMinutes(30), 2, 0.25),
        new("hair dryer", 1600, TimeSpan.FromMinutes(6), 0, 0.3),
        new("induction hob", 2800, TimeSpan.FromMinutes(15), 1, 0.5),
    ];

    private readonly Random _random;
    private readonly double _scale;
    private readonly DateTimeOffset?[] _runningUntil = new DateTimeOffset?[Appliances.Length];

    public HouseLoad(Random random, double scale = 1)
    {
        _random = random;
        _scale = scale;
    }

    /// <summary>Consumption per phase in W (≥ 0).</summary>
    public Phases Power { get; private set; }

    /// <summary>Reactive power drawn, in var (the load is mildly inductive).</summary>
    public Phases ReactivePower { get; private set; }

    public void Step(DateTimeOffset localNow, double seconds)
    {
        var hour = localNow.TimeOfDay.TotalHours;
        var awake = hour is >= 6.5 and < 23 ? 1.0 : 0.15;
        var peak = (Bump(hour, 7.5, 1.0) * 450) + (Bump(hour, 19, 2.0) * 900);
        var fridge = ((localNow.ToUnixTimeSeconds() / 60) % 40) < 15 ? 120 : 0;
        var baseLoad = (180 * _scale) + fridge + (peak * _scale);
        var phases = new Phases(baseLoad * 0.45, baseLoad * 0.30, baseLoad * 0.25);

        for (var i = 0; i < Appliances.Length; i++)
        {
            var appliance = Appliances[i];
            if (_runningUntil[i] is { } until && localNow >= until)
            {
                _runningUntil[i] = null;
            }

            // Poisson arrivals: the expected number of starts per hour, scaled to this step.
            if (_runningUntil[i] is null && _random.NextDouble() < appliance.StartsPerHour * awake * seconds / 3600 / 4)
            {
                _runningUntil[i] = localNow + appliance.Duration;
            }

            if (_runningUntil[i] is not null)
            {
                var w = appliance.Watts * (0.95 + (0.1 * _random.NextDouble()));
                phases = appliance.Phase switch
                {
                    0 => phases with { L1 = phases.L1 + w },
                    1 => phases with { L2 = phases.L2 + w },
                    _ => phases with { L3 = phases.L3 + w },
                };
            }
        }

        Power = new Phases(Noisy(phases.L1), Noisy(phases.L2), Noisy(phases.L3));
        ReactivePower = Power * 0.22;
    }

    private double Noisy(double w) => Math.Max(0, w * (1 + (0.03 * ((_random.NextDouble() * 2) - 1))));

    private static double Bump(double hour, double center, double width) => Math.Exp(-Math.Pow((hour - center) / width, 2));

    private sealed record Appliance(string Name, double Watts, TimeSpan Duration, int Phase, double StartsPerHour);
}
