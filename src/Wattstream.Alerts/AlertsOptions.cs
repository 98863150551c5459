using System.ComponentModel.DataAnnotations;
using Wattstream.Alerts.Rules;
using Wattstream.Alerts.Webhooks;

namespace Wattstream.Alerts;

/// <summary>The <c>Alerts</c> section: rules from configuration, webhooks, and how evaluation runs.</summary>
public sealed class AlertsOptions : IValidatableObject
{
    public const string SectionName = "Alerts";

    /// <summary>Evaluate rules on this node. In cluster mode, leave it on for one node only (each would raise the same alerts).</summary>
    public bool Evaluate { get; set; } = true;

    /// <summary>
    /// Load the example rule set (the seed's defaults: 5 kW, 220 V, 15 %, 5 minutes between repeats) for the simulator's
    /// org. Null: on when the simulator runs, so the demo shows alerts.
    /// </summary>
    public bool? ExampleRules { get; set; }

    /// <summary>Rules from configuration; read-only through the API (edit the configuration instead).</summary>
    public List<AlertRule> Rules { get; set; } = [];

    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>Readings waiting for evaluation; past it the oldest are skipped (and counted), never the hub slowed.</summary>
    [Range(16, 10_000_000)]
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>How often silence (<c>stale</c>) and down sources are re-judged.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Rules made through the API, at most.</summary>
    [Range(1, 100_000)]
    public int MaxRules { get; set; } = 1000;

    /// <summary>Rules made through the API for one org, at most: one org cannot use up <see cref="MaxRules"/> for the others.</summary>
    [Range(1, 100_000)]
    public int MaxRulesPerOrg { get; set; } = 100;

    /// <summary>
    /// Alerts one org may raise in a minute (evaluation and reports together); past it they are not raised, stored or
    /// delivered but counted, so one org's flood costs the others nothing.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxAlertsPerMinutePerOrg { get; set; } = 600;

    /// <summary>Stored alerts older than this are deleted.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Stored alerts kept per org; past it the oldest are deleted.</summary>
    [Range(1, 100_000_000)]
    public int MaxStoredPerOrg { get; set; } = 100_000;

    /// <summary>How often <see cref="Retention"/> and <see cref="MaxStoredPerOrg"/> are enforced.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromMinutes(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Rules.Count; i++)
        {
            foreach (var (field, messages) in Rules[i].Validate())
            {
                yield return new ValidationResult(string.Join(" ", messages), [$"Rules:{i}:{char.ToUpperInvariant(field[0])}{field[1..]}"]);
            }

            if (Rules[i].Id is { } id && !ids.Add(id))
            {
                yield return new ValidationResult($"'{id}' is used twice.", [$"Rules:{i}:Id"]);
            }
        }

        for (var i = 0; i < Webhooks.Count; i++)
        {
            foreach (var (field, problem) in Webhooks[i].Validate())
            {
                yield return new ValidationResult(problem, [$"Webhooks:{i}:{field}"]);
            }
        }
    }
}
