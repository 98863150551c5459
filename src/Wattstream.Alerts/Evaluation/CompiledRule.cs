using Wattstream.Alerts.Rules;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Evaluation;

/// <summary>A validated rule in the form evaluation needs: defaults applied, durations in milliseconds.</summary>
public sealed class CompiledRule
{
    public CompiledRule(AlertRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (rule.Validate() is { Count: > 0 } errors)
        {
            throw new ArgumentException($"Invalid rule '{rule.Id}': {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}", nameof(rule));
        }

        Rule = rule.Copy();
        Id = rule.Id!;
        var type = AlertTypes.TryParse(rule.Type, out var parsed) ? parsed : throw new ArgumentException($"Unknown type '{rule.Type}'.", nameof(rule));
        Type = type;
        Threshold = rule.Threshold ?? type.DefaultThreshold() ?? 0;
        Hysteresis = rule.Hysteresis ?? type.DefaultHysteresis();
        ForMs = (long)(rule.ForSeconds * 1000);
        RepeatMs = (long)(rule.RepeatSeconds * 1000);
        Above = type switch
        {
            AlertType.HighConsumption or AlertType.HighVoltage or AlertType.PhaseImbalance or AlertType.Stale => true,
            AlertType.Threshold => rule.Operator is ">" or ">=",
            _ => false,
        };
        Inclusive = rule.Operator is ">=" or "<=";
    }

    /// <summary>The rule as given (a copy: later edits of the original do not reach evaluation).</summary>
    public AlertRule Rule { get; }

    public string Id { get; }

    public AlertType Type { get; }

    public double Threshold { get; }

    public double Hysteresis { get; }

    public long ForMs { get; }

    public long RepeatMs { get; }

    /// <summary>The alert is about a value above the threshold (else below it).</summary>
    public bool Above { get; }

    /// <summary>The threshold itself is a breach (<c>&gt;=</c>, <c>&lt;=</c>).</summary>
    public bool Inclusive { get; }

    public bool Applies(DerAddress der, DerType type)
    {
        ArgumentNullException.ThrowIfNull(der);
        var r = Rule;
        if (!r.Enabled
            || (r.Org is not null && r.Org != der.Org)
            || (r.Site is not null && r.Site != der.Site)
            || (r.Device is not null && r.Device != der.Device)
            || (r.Der is not null && r.Der != der.Der))
        {
            return false;
        }

        return Type switch
        {
            AlertType.HighConsumption or AlertType.PhaseImbalance => type == DerType.Meter,
            AlertType.LowVoltage or AlertType.HighVoltage => type is DerType.Meter or DerType.V2xCharger,
            AlertType.SolarDrop => type == DerType.Pv,
            AlertType.LowSoc => type is DerType.Battery or DerType.V2xCharger,
            _ => true,
        };
    }

    public bool Breaches(double value) => Above
        ? Inclusive ? value >= Threshold : value > Threshold
        : Inclusive ? value <= Threshold : value < Threshold;

    /// <summary>Back past the threshold by the hysteresis: a firing alert resolves.</summary>
    public bool Clears(double value) => Above ? value <= Threshold - Hysteresis : value >= Threshold + Hysteresis;
}
