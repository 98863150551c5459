namespace Wattstream.Alerts.Rules;

/// <summary>
/// The seed's <c>PowerAlert</c> thresholds as server-side rules (5 kW import, 220 V, 15 % imbalance, 5 minutes between
/// repeats), with the rest of the types beside them: on for the built-in simulator, so the demo shows alerts.
/// </summary>
public static class ExampleRules
{
    public const string Source = "example";

    public static IReadOnlyList<AlertRule> For(string org, double latitude, double longitude) =>
    [
        Rule("example-high-consumption", "High consumption", AlertType.HighConsumption, org, 5),
        Rule("example-low-voltage", "Low voltage", AlertType.LowVoltage, org, 220),
        Rule("example-high-voltage", "High voltage", AlertType.HighVoltage, org, 253),
        Rule("example-phase-imbalance", "Phase imbalance", AlertType.PhaseImbalance, org, 15, forSeconds: 10),
        Rule("example-solar-drop", "Solar production below a clear sky's", AlertType.SolarDrop, org, 0.5, forSeconds: 60, latitude, longitude),
        Rule("example-low-soc", "Battery low", AlertType.LowSoc, org, 10),
        Rule("example-stale", "Silent DER", AlertType.Stale, org, 60),
        Rule("example-source-down", "Source down", AlertType.SourceDown, org, null, forSeconds: 30),
    ];

    private static AlertRule Rule(string id, string name, AlertType type, string org, double? threshold, double forSeconds = 0, double? latitude = null, double? longitude = null) => new()
    {
        Id = id,
        Name = name,
        Type = type.ToWireName(),
        Org = org,
        Threshold = threshold,
        ForSeconds = forSeconds,
        RepeatSeconds = 300,
        Latitude = latitude,
        Longitude = longitude,
        Source = Source,
    };
}
