using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Alerts.Rules;

/// <summary>
/// A rule as configured (<c>Alerts:Rules</c>) or sent to <c>/api/alert-rules</c>. Scope: no org is every org (hub
/// admins only), an org, a site of it, or one DER (<see cref="Der"/>, optionally with <see cref="Device"/>).
/// </summary>
public sealed class AlertRule
{
    public string? Id { get; set; }

    /// <summary>A person's name for the rule; the id when absent.</summary>
    public string? Name { get; set; }

    /// <summary><c>high_consumption</c>, <c>low_voltage</c>, … (<see cref="AlertTypes"/>).</summary>
    public string? Type { get; set; }

    public string? Org { get; set; }

    public string? Site { get; set; }

    public string? Device { get; set; }

    public string? Der { get; set; }

    /// <summary>In the type's unit (<see cref="AlertTypes.ThresholdUnit"/>); the type's default when absent.</summary>
    public double? Threshold { get; set; }

    /// <summary>How far back past the threshold the value must come to resolve; the type's default when absent.</summary>
    public double? Hysteresis { get; set; }

    /// <summary>The condition must hold this long (by the readings' clocks) before the alert fires.</summary>
    public double ForSeconds { get; set; }

    /// <summary>At most one notification per (rule, DER) within this window; the seed's 5 minutes by default.</summary>
    public double RepeatSeconds { get; set; } = 300;

    public bool Enabled { get; set; } = true;

    /// <summary>A <c>threshold</c> rule's field: a numeric key of the Novacore reading (<c>W</c>, <c>L1_V</c>, <c>SoC_nom_fract</c>, …).</summary>
    public string? Field { get; set; }

    /// <summary>A <c>threshold</c> rule's comparison: <c>&gt;</c>, <c>&gt;=</c>, <c>&lt;</c> or <c>&lt;=</c>.</summary>
    public string? Operator { get; set; }

    /// <summary>Where a <c>solar_drop</c> rule's PV is, for the sun's path.</summary>
    public double? Latitude { get; set; }

    public double? Longitude { get; set; }

    /// <summary>A <c>solar_drop</c> rule's PV rating in kW; absent: the reading's <c>rated_power_W</c>.</summary>
    public double? RatedPower { get; set; }

    /// <summary>Output only: <c>config</c> or <c>api</c>.</summary>
    public string? Source { get; set; }

    public AlertRule Copy() => (AlertRule)MemberwiseClone();

    /// <summary>Every problem of the rule, by JSON field name; empty when it is valid.</summary>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string field, string message) => errors[field] = [.. errors.GetValueOrDefault(field, []), message];

        if (string.IsNullOrEmpty(Id) || !Subjects.IsValidToken(Id))
        {
            Add("id", "Required: letters, digits, '-' and '_' (up to 64), e.g. \"low-voltage\".");
        }

        if (!AlertTypes.TryParse(Type, out var type))
        {
            Add("type", $"Must be one of {string.Join(", ", AlertTypes.WireNames)}.");
        }

        foreach (var (name, value) in new[] { ("org", Org), ("site", Site), ("device", Device), ("der", Der) })
        {
            if (value is not null && !Subjects.IsValidToken(value))
            {
                Add(name, $"'{value}' is not a valid id.");
            }
        }

        if (Org is null && (Site is not null || Device is not null || Der is not null))
        {
            Add("org", "A rule for a site or a DER names its org.");
        }

        if (Device is not null && Der is null)
        {
            Add("der", "A rule for one DER names the DER (device alone is not a scope).");
        }

        if (Threshold is { } t && !double.IsFinite(t))
        {
            Add("threshold", "Must be a finite number.");
        }

        if (Hysteresis is { } h && (!double.IsFinite(h) || h < 0))
        {
            Add("hysteresis", "Must be zero or more.");
        }

        if (!double.IsFinite(ForSeconds) || ForSeconds < 0 || ForSeconds > 86_400)
        {
            Add("forSeconds", "Between 0 and 86400.");
        }

        if (!double.IsFinite(RepeatSeconds) || RepeatSeconds < 0 || RepeatSeconds > 7 * 86_400)
        {
            Add("repeatSeconds", "Between 0 and 604800.");
        }

        if (Name is { Length: > 200 })
        {
            Add("name", "At most 200 characters.");
        }

        switch (type)
        {
            case AlertType.Threshold when errors.ContainsKey("type") is false:
                if (Field is null || !NovacoreReading.IsNumericKey(Field))
                {
                    Add("field", "A numeric key of the Novacore reading, e.g. \"W\", \"L1_V\", \"SoC_nom_fract\".");
                }

                if (Operator is not (">" or ">=" or "<" or "<="))
                {
                    Add("operator", "One of >, >=, <, <=.");
                }

                if (Threshold is null)
                {
                    Add("threshold", "A threshold rule needs a threshold.");
                }

                break;
            case AlertType.SolarDrop:
                if (Latitude is not (>= -90 and <= 90))
                {
                    Add("latitude", "Between -90 and 90: where the PV is, for the sun's path.");
                }

                if (Longitude is not (>= -180 and <= 180))
                {
                    Add("longitude", "Between -180 and 180.");
                }

                if (RatedPower is { } rated && !(rated > 0 && double.IsFinite(rated)))
                {
                    Add("ratedPower", "More than 0 kW.");
                }

                if (Threshold is { } fraction && fraction is not (> 0 and <= 1))
                {
                    Add("threshold", "A fraction of the expected production, more than 0 and at most 1.");
                }

                break;
            case AlertType.PhaseImbalance when Threshold is { } percent && percent is not (> 0 and <= 100):
                Add("threshold", "A percentage, more than 0 and at most 100.");
                break;
            case AlertType.Stale when Threshold is { } seconds && seconds < 1:
                Add("threshold", "Seconds of silence, at least 1.");
                break;
        }

        return errors;
    }
}
