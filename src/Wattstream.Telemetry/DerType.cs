namespace Wattstream.Telemetry;

/// <summary>The kind of distributed energy resource a reading comes from (Novacore's DER types).</summary>
/// <remarks>History stores it by number (<c>StoredPayload</c>): add members at the end only.</remarks>
public enum DerType
{
    Meter,
    Pv,
    Battery,
    V2xCharger,
}

public static class DerTypes
{
    /// <summary>The wire name used in the reading JSON's <c>type</c> field.</summary>
    public static string ToWireName(this DerType type) => type switch
    {
        DerType.Meter => "meter",
        DerType.Pv => "pv",
        DerType.Battery => "battery",
        DerType.V2xCharger => "v2x_charger",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParse(ReadOnlySpan<char> wireName, out DerType type)
    {
        switch (wireName)
        {
            case "meter": type = DerType.Meter; return true;
            case "pv": type = DerType.Pv; return true;
            case "battery": type = DerType.Battery; return true;
            case "v2x_charger": type = DerType.V2xCharger; return true;
            default: type = default; return false;
        }
    }
}
