using Wattstream.Alerts.Evaluation;
using Wattstream.Alerts.Rules;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Tests;

/// <summary>
/// The repeat window's boundary: at most one firing notification per (rule, DER) within <c>repeatSeconds</c> of the
/// last one; a firing exactly at the window's end is announced, one a millisecond before it is not.
/// </summary>
public class RepeatWindowTests
{
    private static readonly DerAddress Meter = new("acme", "home", "gw", "m1");
    private const long T0 = 1_790_000_000_000;
    private const long WindowMs = 300_000;

    private readonly AlertEvaluator _evaluator = new();
    private readonly List<AlertDraft> _out = [];

    public RepeatWindowTests()
    {
        var rule = new AlertRule { Id = "r-high", Type = "high_consumption", Org = "acme", Threshold = 5, RepeatSeconds = WindowMs / 1000 };
        _evaluator.SetRules([new CompiledRule(rule)], T0, _out);
    }

    private void Feed(long at, double importKw) =>
        _evaluator.OnReading(new Reading(Meter, DerType.Meter, at, null, [new Measurement(Quantity.ActivePower, importKw * 1000, Unit.Watt)]), at, _out);

    private int Firings => _out.Count(d => d.State == AlertState.Firing);

    /// <summary>Fires at <see cref="T0"/> and resolves, so that the next breach is a new firing transition.</summary>
    private void FireAndResolve()
    {
        Feed(T0, importKw: 6);
        Feed(T0 + 1_000, importKw: 1);
        Assert.Equal(1, Firings);
    }

    [Fact]
    public void A_firing_exactly_at_the_end_of_the_window_is_announced()
    {
        FireAndResolve();

        Feed(T0 + WindowMs, importKw: 7);

        Assert.Equal(2, Firings);
        Assert.Equal(T0 + WindowMs, _out.Last(d => d.State == AlertState.Firing).Timestamp);
        Assert.Equal(0, _evaluator.Suppressed);
    }

    [Fact]
    public void A_firing_a_millisecond_before_the_end_of_the_window_is_suppressed_and_counted()
    {
        FireAndResolve();

        Feed(T0 + WindowMs - 1, importKw: 7);

        Assert.Equal(1, Firings);
        Assert.Equal(1, _evaluator.Suppressed);
    }

    [Fact]
    public void The_window_runs_from_the_last_announced_firing_not_from_a_suppressed_one()
    {
        FireAndResolve();
        Feed(T0 + WindowMs - 1, importKw: 7); // suppressed: it does not open a window of its own
        Feed(T0 + WindowMs - 1 + 1_000, importKw: 1);

        Feed(T0 + WindowMs + 2_000, importKw: 8);

        Assert.Equal(2, Firings);
        Assert.Equal(1, _evaluator.Suppressed);
    }

    [Fact]
    public void A_zero_window_announces_every_firing()
    {
        var rule = new AlertRule { Id = "r-every", Type = "high_consumption", Org = "acme", Threshold = 5, RepeatSeconds = 0 };
        _evaluator.SetRules([new CompiledRule(rule)], T0, _out);

        for (var i = 0; i < 3; i++)
        {
            Feed(T0 + (i * 2), importKw: 6);
            Feed(T0 + (i * 2) + 1, importKw: 1);
        }

        Assert.Equal(3, Firings);
        Assert.Equal(0, _evaluator.Suppressed);
    }
}
