namespace Wattstream.Alerts.Rules;

/// <summary>What a rule watches. Wire names are the seed's alert types (<c>high_consumption</c>, …) and ours past it.</summary>
public enum AlertType
{
    /// <summary>A meter's import power above the threshold (kW).</summary>
    HighConsumption,

    /// <summary>Any present phase voltage below the threshold (V); a phase at 0 V is absent, not low.</summary>
    LowVoltage,

    /// <summary>Any phase voltage above the threshold (V).</summary>
    HighVoltage,

    /// <summary>(largest − smallest) / largest phase import above the threshold (%), when at least two phases carry load.</summary>
    PhaseImbalance,

    /// <summary>PV production below the threshold (a fraction) of what a clear sky gives at the site's place and time.</summary>
    SolarDrop,

    /// <summary>A battery's (or a vehicle's) state of charge below the threshold (%).</summary>
    LowSoc,

    /// <summary>A DER silent for the threshold (s).</summary>
    Stale,

    /// <summary>A DER's source refused its credentials (AUTH_FAILED) or lost its connection (DISCONNECTED).</summary>
    SourceDown,

    /// <summary>Any numeric field of the Novacore reading compared with the threshold by an operator.</summary>
    Threshold,
}

public static class AlertTypes
{
    private static readonly Dictionary<string, AlertType> ByName = Enum.GetValues<AlertType>().ToDictionary(ToWireName, StringComparer.Ordinal);

    public static IEnumerable<string> WireNames => ByName.Keys;

    public static string ToWireName(this AlertType type) => type switch
    {
        AlertType.HighConsumption => "high_consumption",
        AlertType.LowVoltage => "low_voltage",
        AlertType.HighVoltage => "high_voltage",
        AlertType.PhaseImbalance => "phase_imbalance",
        AlertType.SolarDrop => "solar_drop",
        AlertType.LowSoc => "low_soc",
        AlertType.Stale => "stale",
        AlertType.SourceDown => "source_down",
        AlertType.Threshold => "threshold",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParse(string? name, out AlertType type) => ByName.TryGetValue(name ?? "", out type);

    /// <summary>The unit a rule's threshold is in, for messages and docs.</summary>
    public static string ThresholdUnit(this AlertType type) => type switch
    {
        AlertType.HighConsumption => "kW",
        AlertType.LowVoltage or AlertType.HighVoltage => "V",
        AlertType.PhaseImbalance or AlertType.LowSoc => "%",
        AlertType.SolarDrop => "of expected",
        AlertType.Stale => "s",
        _ => "",
    };

    /// <summary>The seed's defaults (5 kW, 220 V, 15 %), and ours for the rest.</summary>
    public static double? DefaultThreshold(this AlertType type) => type switch
    {
        AlertType.HighConsumption => 5,
        AlertType.LowVoltage => 220,
        AlertType.HighVoltage => 253,
        AlertType.PhaseImbalance => 15,
        AlertType.SolarDrop => 0.5,
        AlertType.LowSoc => 10,
        AlertType.Stale => 60,
        _ => null,
    };

    /// <summary>How far back past the threshold a value must come before a firing alert resolves.</summary>
    public static double DefaultHysteresis(this AlertType type) => type switch
    {
        AlertType.HighConsumption => 0.2,
        AlertType.LowVoltage or AlertType.HighVoltage => 2,
        AlertType.PhaseImbalance => 3,
        AlertType.SolarDrop => 0.1,
        AlertType.LowSoc => 2,
        _ => 0,
    };
}
