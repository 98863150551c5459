using Wattstream.Alerts.Evaluation;
using Wattstream.Alerts.Rules;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Tests;

public class AlertEvaluatorTests
{
    private static readonly DerAddress Meter = new("acme", "home", "gw", "m1");
    private static readonly DerAddress Pv = new("acme", "home", "inv", "pv1");
    private const long T0 = 1_790_000_000_000;

    private readonly AlertEvaluator _evaluator = new();
    private readonly List<AlertDraft> _out = [];

    private static CompiledRule Rule(string type, double? threshold = null, double forSeconds = 0, double repeatSeconds = 300, Action<AlertRule>? more = null)
    {
        var rule = new AlertRule { Id = $"r-{type}", Type = type, Org = "acme", Threshold = threshold, ForSeconds = forSeconds, RepeatSeconds = repeatSeconds };
        more?.Invoke(rule);
        return new CompiledRule(rule);
    }

    private void Use(params CompiledRule[] rules) => _evaluator.SetRules(rules, T0, _out);

    private static Reading MeterReading(long at, double? l1 = 230, double? l2 = 230, double? l3 = 230, double importKw = 1, double[]? phaseKw = null)
    {
        var m = new List<Measurement> { new(Quantity.ActivePower, importKw * 1000, Unit.Watt) };
        foreach (var (q, v) in new[] { (Quantity.VoltageL1, l1), (Quantity.VoltageL2, l2), (Quantity.VoltageL3, l3) })
        {
            if (v is { } volts)
            {
                m.Add(new Measurement(q, volts, Unit.Volt));
            }
        }

        if (phaseKw is not null)
        {
            m.Add(new Measurement(Quantity.ActivePowerImportL1, phaseKw[0], Unit.Kilowatt));
            m.Add(new Measurement(Quantity.ActivePowerImportL2, phaseKw[1], Unit.Kilowatt));
            m.Add(new Measurement(Quantity.ActivePowerImportL3, phaseKw[2], Unit.Kilowatt));
        }

        return new Reading(Meter, DerType.Meter, at, null, m);
    }

    private void Feed(Reading reading) => _evaluator.OnReading(reading, reading.Timestamp, _out);

    private string[] States() => [.. _out.Select(d => $"{d.Type}:{d.State.ToWireName()}")];

    [Fact]
    public void A_low_voltage_episode_fires_once_and_resolves_once()
    {
        Use(Rule("low_voltage", 220));
        Feed(MeterReading(T0, l2: 231));
        Feed(MeterReading(T0 + 1000, l2: 214.5));
        Feed(MeterReading(T0 + 2000, l2: 212));
        Feed(MeterReading(T0 + 3000, l2: 216));
        Feed(MeterReading(T0 + 4000, l2: 229));

        Assert.Equal(["low_voltage:firing", "low_voltage:resolved"], States());
        var firing = _out[0];
        Assert.Equal(214.5, firing.Value);
        Assert.Equal(220, firing.Threshold);
        Assert.Equal(T0 + 1000, firing.Timestamp);
        Assert.Equal(Meter, firing.Der);
        Assert.Equal(T0 + 1000, firing.Data!.Timestamp); // the reading that triggered it
        Assert.Contains("214.5 V", firing.Message, StringComparison.Ordinal);
        Assert.Equal(T0 + 4000, _out[1].Timestamp);
    }

    [Fact]
    public void A_phase_at_zero_volts_is_absent_not_low()
    {
        Use(Rule("low_voltage", 220));
        Feed(MeterReading(T0, l2: 0, l3: 0)); // a single-phase installation
        Feed(MeterReading(T0 + 1000, l1: null, l2: null, l3: null));

        Assert.Empty(_out);
    }

    [Fact]
    public void A_value_flapping_around_the_threshold_within_the_hysteresis_fires_once()
    {
        Use(Rule("low_voltage", 220, more: r => r.Hysteresis = 3));
        foreach (var (i, volts) in new[] { 219.5, 220.5, 219.0, 221.9, 219.8, 222.5, 219.9 }.Index())
        {
            Feed(MeterReading(T0 + (i * 1000), l1: volts));
        }

        Assert.Equal(["low_voltage:firing"], States()); // never back to 223 V: it stays firing

        Feed(MeterReading(T0 + 10_000, l1: 223.5));
        Assert.Equal(["low_voltage:firing", "low_voltage:resolved"], States());
    }

    [Fact]
    public void A_repeat_inside_the_window_is_suppressed_and_counted_and_one_after_it_is_announced()
    {
        Use(Rule("high_consumption", 5, repeatSeconds: 300));
        Feed(MeterReading(T0, importKw: 6));          // fires
        Feed(MeterReading(T0 + 10_000, importKw: 1)); // resolves
        Feed(MeterReading(T0 + 20_000, importKw: 7)); // again within 5 minutes: suppressed
        Feed(MeterReading(T0 + 30_000, importKw: 1)); // its resolution is not announced either
        Assert.Equal(["high_consumption:firing", "high_consumption:resolved"], States());
        Assert.Equal(1, _evaluator.Suppressed);

        Feed(MeterReading(T0 + 301_000, importKw: 8)); // past the window
        Assert.Equal(["high_consumption:firing", "high_consumption:resolved", "high_consumption:firing"], States());
        Assert.Equal(1, _evaluator.Suppressed);
    }

    [Fact]
    public void A_for_duration_needs_the_condition_to_hold_throughout()
    {
        Use(Rule("high_consumption", 5, forSeconds: 60));
        Feed(MeterReading(T0, importKw: 6));
        Feed(MeterReading(T0 + 30_000, importKw: 6));
        Feed(MeterReading(T0 + 40_000, importKw: 2)); // broken off: the clock restarts
        Feed(MeterReading(T0 + 50_000, importKw: 6));
        Feed(MeterReading(T0 + 100_000, importKw: 6));
        Assert.Empty(_out);

        Feed(MeterReading(T0 + 110_000, importKw: 6));
        var fired = Assert.Single(_out);
        Assert.Equal(T0 + 110_000, fired.Timestamp);
    }

    [Fact]
    public void Phase_imbalance_needs_two_loaded_phases()
    {
        Use(Rule("phase_imbalance", 15));
        Feed(MeterReading(T0, phaseKw: [2.0, 0, 0]));          // one phase carries load: no imbalance to speak of
        Feed(MeterReading(T0 + 1000, phaseKw: [2.0, 1.9, 1.8])); // 10 %
        Assert.Empty(_out);

        Feed(MeterReading(T0 + 2000, phaseKw: [2.0, 1.0, 0])); // 50 % between the two loaded phases
        var fired = Assert.Single(_out);
        Assert.Equal(50, fired.Value!.Value, 6);
    }

    private static Reading PvReading(DateTimeOffset at, double producingKw) => new(
        Pv, DerType.Pv, at.ToUnixTimeMilliseconds(), null,
        [new Measurement(Quantity.ActivePower, -producingKw * 1000, Unit.Watt), new Measurement(Quantity.RatedPower, 5000, Unit.Watt)]);

    [Fact]
    public void The_solar_rule_stays_quiet_at_night_and_fires_on_a_cloudy_noon()
    {
        // Zurich: solar noon near 11:30 UTC in June.
        Use(Rule("solar_drop", 0.5, more: r => { r.Latitude = 47.37; r.Longitude = 8.54; }));
        var midnight = new DateTimeOffset(2026, 6, 21, 23, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 10; i++)
        {
            Feed(PvReading(midnight.AddMinutes(i * 10), 0)); // no production at all: right for the night
        }

        Assert.Empty(_out);

        var noon = new DateTimeOffset(2026, 6, 21, 11, 30, 0, TimeSpan.Zero);
        Feed(PvReading(noon, 3.9)); // a clear noon gives about 4.3 kW of 5
        Assert.Empty(_out);
        Feed(PvReading(noon.AddMinutes(1), 0.8)); // a cloud
        var fired = Assert.Single(_out);
        Assert.Equal("solar_drop", fired.Type);
        Assert.InRange(fired.Value!.Value, 0.15, 0.25);

        Feed(PvReading(noon.AddMinutes(2), 4.0));
        Assert.Equal(AlertState.Resolved, _out[^1].State);
    }

    [Fact]
    public void A_rule_with_its_rating_from_configuration_needs_no_rating_in_the_reading()
    {
        Use(Rule("solar_drop", 0.5, more: r => { r.Latitude = 47.37; r.Longitude = 8.54; r.RatedPower = 10; }));
        var noon = new DateTimeOffset(2026, 6, 21, 11, 30, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        Feed(new Reading(Pv, DerType.Pv, noon, null, [new Measurement(Quantity.ActivePower, -3000, Unit.Watt)])); // 3 of ~8.6 kW

        Assert.Single(_out);
    }

    [Fact]
    public void A_silent_der_fires_stale_and_resolves_when_it_reports_again()
    {
        Use(Rule("stale", 30));
        _evaluator.OnReading(MeterReading(T0), T0, _out);
        _evaluator.Sweep(T0 + 29_000, _out);
        Assert.Empty(_out);

        _evaluator.Sweep(T0 + 31_000, _out);
        _evaluator.Sweep(T0 + 45_000, _out);
        var fired = Assert.Single(_out);
        Assert.Equal("stale", fired.Type);
        Assert.Equal(31, fired.Value);

        _evaluator.OnReading(MeterReading(T0 + 50_000), T0 + 50_000, _out);
        Assert.Equal(["stale:firing", "stale:resolved"], States());
    }

    [Fact]
    public void A_refused_password_fires_source_down_after_its_for_duration()
    {
        Use(Rule("source_down", forSeconds: 10));
        _evaluator.OnStatus(Meter, DerType.Meter, ConnectionStatus.AuthFailed, "401 from the device", T0, _out);
        _evaluator.Sweep(T0 + 5_000, _out);
        Assert.Empty(_out);

        _evaluator.Sweep(T0 + 11_000, _out);
        var fired = Assert.Single(_out);
        Assert.Contains("AUTH_FAILED", fired.Message, StringComparison.Ordinal);

        _evaluator.OnStatus(Meter, DerType.Meter, ConnectionStatus.Connected, null, T0 + 20_000, _out);
        Assert.Equal(AlertState.Resolved, _out[^1].State);
    }

    [Fact]
    public void A_generic_rule_compares_a_novacore_field()
    {
        Use(Rule("threshold", 0.2, more: r => { r.Field = "SoC_nom_fract"; r.Operator = "<="; }));
        var battery = new DerAddress("acme", "home", "bms", "b1");
        _evaluator.OnReading(new Reading(battery, DerType.Battery, T0, null, [new Measurement(Quantity.StateOfCharge, 0.35, Unit.Fraction)]), T0, _out);
        _evaluator.OnReading(new Reading(battery, DerType.Battery, T0 + 1000, null, [new Measurement(Quantity.StateOfCharge, 0.2, Unit.Fraction)]), T0, _out);

        var fired = Assert.Single(_out);
        Assert.Equal(0.2, fired.Value);
        Assert.Equal(battery, fired.Der);
    }

    [Fact]
    public void Scope_keeps_a_rule_to_its_org_site_and_der()
    {
        Use(Rule("high_consumption", 5, more: r => { r.Site = "other"; }));
        Feed(MeterReading(T0, importKw: 9));
        Assert.Empty(_out);

        Use(Rule("high_consumption", 5, more: r => { r.Org = "globex"; }));
        Feed(MeterReading(T0 + 1000, importKw: 9));
        Assert.Empty(_out);
    }

    [Fact]
    public void Changing_a_rule_resolves_its_firing_alerts_and_keeps_other_rules_state()
    {
        var voltage = Rule("low_voltage", 220);
        var power = Rule("high_consumption", 5);
        Use(voltage, power);
        Feed(MeterReading(T0, l1: 210, importKw: 9));
        Assert.Equal(2, _out.Count);

        Use(voltage); // power's rule removed; voltage's is the same instance: still firing, not announced again
        Assert.Equal("high_consumption:resolved", States()[^1]);
        Assert.Contains("rule removed", _out[^1].Message, StringComparison.Ordinal);
        Feed(MeterReading(T0 + 1000, l1: 209));
        Assert.Equal(3, _out.Count);
    }
}
