namespace Wattstream.Telemetry;

/// <summary>
/// The unit a measurement value is held in. A reading keeps each value in the unit its source sent,
/// so a payload converted to the model and back is the same to the bit; other units are computed on demand.
/// </summary>
/// <remarks>History stores it by number (<c>StoredPayload</c>): add members at the end only.</remarks>
public enum Unit : byte
{
    None,
    Watt,
    Kilowatt,
    WattHour,
    KilowattHour,
    Var,
    Kilovar,
    VarHour,
    KilovarHour,
    VoltAmpere,
    KilovoltAmpere,
    Volt,
    Ampere,
    Hertz,
    Celsius,
    Fraction,
    Percent,
    Hour,
    Degree,
}

public static class Units
{
    /// <summary>The symbol a person reads, e.g. "kW".</summary>
    public static string Symbol(this Unit unit) => unit switch
    {
        Unit.None => "",
        Unit.Watt => "W",
        Unit.Kilowatt => "kW",
        Unit.WattHour => "Wh",
        Unit.KilowattHour => "kWh",
        Unit.Var => "var",
        Unit.Kilovar => "kvar",
        Unit.VarHour => "varh",
        Unit.KilovarHour => "kvarh",
        Unit.VoltAmpere => "VA",
        Unit.KilovoltAmpere => "kVA",
        Unit.Volt => "V",
        Unit.Ampere => "A",
        Unit.Hertz => "Hz",
        Unit.Celsius => "°C",
        Unit.Fraction => "",
        Unit.Percent => "%",
        Unit.Hour => "h",
        Unit.Degree => "°",
        _ => throw new ArgumentOutOfRangeException(nameof(unit), unit, null),
    };

    /// <summary>Converts a value between two units of the same dimension.</summary>
    public static bool TryConvert(double value, Unit from, Unit to, out double result)
    {
        if (from == to)
        {
            result = value;
            return true;
        }

        var (fromBase, fromScale) = BaseOf(from);
        var (toBase, toScale) = BaseOf(to);
        if (fromBase != toBase)
        {
            result = double.NaN;
            return false;
        }

        result = value * fromScale / toScale;
        return true;
    }

    private static (Unit Base, double Scale) BaseOf(Unit unit) => unit switch
    {
        Unit.Kilowatt => (Unit.Watt, 1000),
        Unit.KilowattHour => (Unit.WattHour, 1000),
        Unit.Kilovar => (Unit.Var, 1000),
        Unit.KilovarHour => (Unit.VarHour, 1000),
        Unit.KilovoltAmpere => (Unit.VoltAmpere, 1000),
        Unit.Percent => (Unit.Fraction, 0.01),
        _ => (unit, 1),
    };
}
