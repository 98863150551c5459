using Wattstream.Telemetry;

namespace Wattstream.Energy.Balance;

/// <summary>
/// A site's power at one moment, in W, from its DERs' newest readings. Signs follow the hub's (Novacore's) convention
/// at the inputs and are made explicit here: grid + import / − export; PV generation ≥ 0; battery and EV + charging /
/// − discharging. Home is the balance: <c>home = grid + pv − battery − ev</c> (what flows in, less what flows into
/// storage), clamped at 0 when the meters disagree. The <c>…ToHomeW</c> members are the same powers as the lines of a
/// power-flow picture: + toward the home, − away from it; they sum to home when it is not clamped.
/// </summary>
public sealed record PowerBalance(
    double? GridW,
    double? PvW,
    double? BatteryW,
    double? EvW,
    double? HomeW,
    double? BatterySoc,
    long Timestamp)
{
    public double? GridImportW => GridW is { } g ? Math.Max(0, g) : null;

    public double? GridExportW => GridW is { } g ? Math.Max(0, -g) : null;

    public double? BatteryChargeW => BatteryW is { } b ? Math.Max(0, b) : null;

    public double? BatteryDischargeW => BatteryW is { } b ? Math.Max(0, -b) : null;

    /// <summary>The grid's line: + importing (toward the home), − exporting.</summary>
    public double? GridToHomeW => GridW;

    /// <summary>The PV's line: generation flows toward the home (≥ 0).</summary>
    public double? PvToHomeW => PvW;

    /// <summary>The battery's line: + discharging (toward the home), − charging.</summary>
    public double? BatteryToHomeW => Reversed(BatteryW);

    /// <summary>The EV charger's line: + discharging the car (vehicle-to-home), − charging it.</summary>
    public double? EvToHomeW => Reversed(EvW);

    // 0 − w, not −w: an idle battery is 0 toward the home, never −0 on the wire.
    private static double? Reversed(double? w) => w is { } v ? 0 - v : null;

    /// <summary>The share of home consumption not drawn from the grid (0…1); null without consumption or a grid meter.</summary>
    public double? SelfSufficiency => HomeW is > 0 && GridImportW is { } import ? Math.Clamp(1 - (import / HomeW.Value), 0, 1) : null;

    /// <summary>The share of PV generation used on site, storage included (0…1); null without generation.</summary>
    public double? SelfConsumption => PvW is > 0 ? Math.Clamp(1 - ((GridExportW ?? 0) / PvW.Value), 0, 1) : null;

    /// <summary>The balance of the DERs' newest readings; each type summed over its DERs.</summary>
    public static PowerBalance Of(IEnumerable<Reading> newest)
    {
        ArgumentNullException.ThrowIfNull(newest);
        double? grid = null, pv = null, battery = null, ev = null;
        double socSum = 0, capacityWeight = 0;
        long timestamp = 0;
        foreach (var r in newest)
        {
            timestamp = Math.Max(timestamp, r.Timestamp);
            if (!r.TryGet(Quantity.ActivePower, Unit.Watt, out var w))
            {
                continue;
            }

            switch (r.Type)
            {
                case DerType.Meter:
                    grid = (grid ?? 0) + w;
                    break;
                case DerType.Pv:
                    pv = (pv ?? 0) + Math.Max(0, -w);
                    break;
                case DerType.Battery:
                    battery = (battery ?? 0) + w;
                    if (r.TryGet(Quantity.StateOfCharge, Unit.Fraction, out var soc))
                    {
                        // Weighted by capacity when the batteries say it, so two unequal packs average right.
                        var weight = r.TryGet(Quantity.Capacity, Unit.WattHour, out var capacity) && capacity > 0 ? capacity : 1;
                        socSum += soc * weight;
                        capacityWeight += weight;
                    }

                    break;
                case DerType.V2xCharger:
                    ev = (ev ?? 0) + w;
                    break;
            }
        }

        double? home = grid is null ? null : Math.Max(0, (grid ?? 0) + (pv ?? 0) - (battery ?? 0) - (ev ?? 0));
        return new PowerBalance(grid, pv, battery, ev, home, capacityWeight > 0 ? socSum / capacityWeight : null, timestamp);
    }
}
