using Wattstream.Telemetry;

namespace Wattstream.Simulation.Devices;

/// <summary>
/// A home battery run for self-consumption: it charges from surplus and discharges to cover the deficit, within its
/// power rating and its state-of-charge window; the state of charge integrates the power with the conversion losses.
/// </summary>
public sealed class HomeBattery
{
    private const double Efficiency = 0.96; // each way

    public HomeBattery(double capacityWh, double maxPowerWatts, double stateOfCharge, double totalChargeWh, double totalDischargeWh)
    {
        CapacityWh = capacityWh;
        MaxPowerWatts = maxPowerWatts;
        StateOfCharge = stateOfCharge;
        TotalChargeWh = totalChargeWh;
        TotalDischargeWh = totalDischargeWh;
    }

    public double CapacityWh { get; }

    public double MaxPowerWatts { get; }

    public double MinStateOfCharge { get; } = 0.10;

    public double MaxStateOfCharge { get; } = 0.95;

    /// <summary>0..1.</summary>
    public double StateOfCharge { get; private set; }

    /// <summary>AC power in W: + charging, − discharging.</summary>
    public double Watts { get; private set; }

    public double TotalChargeWh { get; private set; }

    public double TotalDischargeWh { get; private set; }

    /// <summary>
    /// Takes the registers and the state of charge over from the battery's last reading (another node simulated it
    /// before), so the battery neither refills nor empties at a change of node.
    /// </summary>
    public void ContinueFrom(Reading last)
    {
        TotalChargeWh = GridMeter.Register(last, Quantity.EnergyCharged, Unit.WattHour, TotalChargeWh);
        TotalDischargeWh = GridMeter.Register(last, Quantity.EnergyDischarged, Unit.WattHour, TotalDischargeWh);
        if (last.TryGet(Quantity.StateOfCharge, Unit.Fraction, out var soc) && soc is >= 0 and <= 1)
        {
            StateOfCharge = soc;
        }
    }

    /// <summary>How much it could charge now (≥ 0).</summary>
    public double UpperLimitWatts => StateOfCharge >= MaxStateOfCharge ? 0 : MaxPowerWatts;

    /// <summary>How much it could discharge now, as a negative number.</summary>
    public double LowerLimitWatts => StateOfCharge <= MinStateOfCharge ? 0 : -MaxPowerWatts;

    public double Volts => 48 + (6 * StateOfCharge) + (Watts / 1000 * 0.25);

    public double Amps => Watts / Volts;

    public double AvailableChargeWh => Math.Max(0, (MaxStateOfCharge - StateOfCharge) * CapacityWh);

    public double AvailableDischargeWh => Math.Max(0, (StateOfCharge - MinStateOfCharge) * CapacityWh);

    /// <summary>Asks for <paramref name="requestedWatts"/> (+ charge) and gets what the limits allow.</summary>
    public void Step(double requestedWatts, double seconds)
    {
        var hours = seconds / 3600;
        var roomToCharge = Math.Max(0, (MaxStateOfCharge - StateOfCharge) * CapacityWh / Efficiency / hours);
        var roomToDischarge = Math.Max(0, (StateOfCharge - MinStateOfCharge) * CapacityWh * Efficiency / hours);
        var watts = Math.Clamp(requestedWatts, -Math.Min(MaxPowerWatts, roomToDischarge), Math.Min(MaxPowerWatts, roomToCharge));
        if (Math.Abs(watts) < 15)
        {
            watts = 0; // the inverter idles rather than trickle
        }

        Watts = watts;
        if (watts >= 0)
        {
            TotalChargeWh += watts * hours;
            StateOfCharge += watts * hours * Efficiency / CapacityWh;
        }
        else
        {
            TotalDischargeWh += -watts * hours;
            StateOfCharge -= -watts * hours / Efficiency / CapacityWh;
        }

        StateOfCharge = Math.Clamp(StateOfCharge, 0, 1);
    }
}
