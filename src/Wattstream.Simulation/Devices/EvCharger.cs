using Wattstream.Telemetry;

namespace Wattstream.Simulation.Devices;

/// <summary>
/// An 11 kW AC wallbox and the car that visits it: the car arrives in the evening (or at random at weekends) with a
/// partly empty battery, charges until it reaches its target (tapering near full), waits, and leaves in the morning.
/// </summary>
public sealed class EvCharger
{
    private const double PhaseVolts = 230;
    private readonly Random _random;
    private double _vehicleCapacityWh;
    private double _targetSoc;
    private DateTimeOffset _departure;

    public EvCharger(Random random, double ratedWatts, double totalChargeWh)
    {
        _random = random;
        RatedWatts = ratedWatts;
        TotalChargeWh = totalChargeWh;
    }

    public double RatedWatts { get; }

    public bool PlugConnected { get; private set; }

    /// <summary>OCPP-like state: available, preparing, charging, suspended.</summary>
    public string Status { get; private set; } = "available";

    /// <summary>Power into the vehicle in W (≥ 0; this wallbox does not discharge).</summary>
    public double Watts { get; private set; }

    public double VehicleSoc { get; private set; }

    public double VehicleCapacityWh => _vehicleCapacityWh;

    public double SessionChargeWh { get; private set; }

    public double TotalChargeWh { get; private set; }

    /// <summary>Takes the charge register over from the wallbox's last reading (another node simulated it before).</summary>
    public void ContinueFrom(Reading last) =>
        TotalChargeWh = GridMeter.Register(last, Quantity.EnergyCharged, Unit.WattHour, TotalChargeWh);

    public double TargetEnergyRequestWh => PlugConnected ? Math.Max(0, (_targetSoc - VehicleSoc) * _vehicleCapacityWh) : 0;

    public double MaxEnergyRequestWh => PlugConnected ? Math.Max(0, (1 - VehicleSoc) * _vehicleCapacityWh) : 0;

    public void Step(DateTimeOffset localNow, double seconds)
    {
        var hour = localNow.TimeOfDay.TotalHours;
        if (!PlugConnected)
        {
            var weekend = localNow.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
            var arrivalsPerHour = hour is >= 17 and < 20 ? 0.6 : weekend && hour is >= 10 and < 17 ? 0.08 : 0;
            if (_random.NextDouble() < arrivalsPerHour * seconds / 3600)
            {
                Arrive(localNow);
            }
            else
            {
                Watts = 0;
                Status = "available";
                return;
            }
        }

        if (localNow >= _departure)
        {
            PlugConnected = false;
            Watts = 0;
            Status = "available";
            return;
        }

        if (Status == "preparing")
        {
            Status = "charging"; // one tick of handshake before current flows
            Watts = 0;
            return;
        }

        if (VehicleSoc >= _targetSoc)
        {
            Watts = 0;
            Status = "suspended";
            return;
        }

        // Constant power, tapering linearly above 90 % as the car's battery management would.
        var taper = VehicleSoc < 0.9 ? 1 : Math.Max(0.15, (1 - VehicleSoc) / 0.1);
        Watts = RatedWatts * taper * (0.98 + (0.02 * _random.NextDouble()));
        Status = "charging";
        var wh = Watts * seconds / 3600;
        SessionChargeWh += wh;
        TotalChargeWh += wh;
        VehicleSoc = Math.Min(1, VehicleSoc + (wh * 0.92 / _vehicleCapacityWh));
    }

    /// <summary>Current per phase in A (three-phase, balanced).</summary>
    public double PhaseAmps => Watts / 3 / PhaseVolts;

    private void Arrive(DateTimeOffset localNow)
    {
        PlugConnected = true;
        Status = "preparing";
        SessionChargeWh = 0;
        _vehicleCapacityWh = 50_000 + (_random.Next(0, 4) * 10_000);
        VehicleSoc = 0.15 + (_random.NextDouble() * 0.45);
        _targetSoc = 0.8 + (_random.Next(0, 3) * 0.1);
        var nextMorning = localNow.Date.AddDays(localNow.Hour >= 12 ? 1 : 0).AddHours(7).AddMinutes(_random.Next(0, 60));
        _departure = new DateTimeOffset(nextMorning, localNow.Offset);
    }
}
