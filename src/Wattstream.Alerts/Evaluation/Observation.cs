using System.Globalization;
using Wattstream.Alerts.Rules;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Alerts.Evaluation;

/// <summary>
/// What one reading says about one rule: the value the rule watches, and whether it breaches or clears. The message
/// is written only when an alert is made (<see cref="Describe"/>): most readings make none, and judging one allocates
/// nothing for it.
/// </summary>
/// <param name="Produced">A <c>solar_drop</c> observation's production (kW).</param>
/// <param name="Expected">A <c>solar_drop</c> observation's clear-sky expectation (kW); 0 when the sun is too low.</param>
/// <param name="Text">A fixed message (a status change, the end of a silence), used as it is.</param>
public readonly record struct Observation(double Value, bool Breach, bool Clear, double Produced = 0, double Expected = 0, string? Text = null)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The observation of <paramref name="rule"/> in <paramref name="reading"/>; null when the reading does not speak to it.</summary>
    public static Observation? Of(CompiledRule rule, Reading reading)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(reading);
        switch (rule.Type)
        {
            case AlertType.HighConsumption:
            {
                if (!TryImportKw(reading, out var kw))
                {
                    return null;
                }

                return Compare(rule, kw);
            }

            case AlertType.LowVoltage or AlertType.HighVoltage:
            {
                // A phase at 0 V (or not sent) is a phase the installation does not have, as in the seed: not an alarm.
                var low = double.MaxValue;
                var high = double.MinValue;
                var any = false;
                foreach (var q in VoltageQuantities)
                {
                    if (reading.TryGet(q, Unit.Volt, out var v) && v > 0)
                    {
                        low = Math.Min(low, v);
                        high = Math.Max(high, v);
                        any = true;
                    }
                }

                if (!any)
                {
                    return null;
                }

                var value = rule.Type == AlertType.LowVoltage ? low : high;
                return Compare(rule, value);
            }

            case AlertType.PhaseImbalance:
            {
                Span<double> loads = stackalloc double[3];
                var count = 0;
                foreach (var (import, net) in PhaseLoads)
                {
                    if ((reading.TryGet(import, Unit.Kilowatt, out var kw) || reading.TryGet(net, Unit.Kilowatt, out kw)) && kw > MinPhaseLoadKw)
                    {
                        loads[count++] = kw;
                    }
                }

                if (count < 2)
                {
                    return null; // the seed's rule: only when at least two phases carry load
                }

                var max = double.MinValue;
                var min = double.MaxValue;
                foreach (var load in loads[..count])
                {
                    max = Math.Max(max, load);
                    min = Math.Min(min, load);
                }

                var percent = (max - min) / max * 100;
                return Compare(rule, percent);
            }

            case AlertType.SolarDrop:
            {
                var given = rule.Rule;
                double ratedKw;
                if (given.RatedPower is { } configured)
                {
                    ratedKw = configured;
                }
                else if (!reading.TryGet(Quantity.RatedPower, Unit.Kilowatt, out ratedKw) || ratedKw <= 0)
                {
                    return null; // no rating known: nothing to expect
                }

                if (!reading.TryGet(Quantity.ActivePower, Unit.Kilowatt, out var net))
                {
                    return null;
                }

                var produced = Math.Max(0, -net); // generation is negative in the hub's (Novacore's) convention
                var time = DateTimeOffset.FromUnixTimeMilliseconds(reading.Timestamp);
                var expected = ratedKw * ClearSky.Fraction(time, given.Latitude!.Value, given.Longitude!.Value);
                if (expected < ratedKw * MinExpectedFraction)
                {
                    // Night, dawn or dusk: nothing worth expecting, so never an alarm (and a firing one resolves).
                    return new Observation(0, Breach: false, Clear: true, Produced: produced, Expected: 0);
                }

                var ratio = produced / expected;
                return Compare(rule, ratio) with { Produced = produced, Expected = expected };
            }

            case AlertType.LowSoc:
            {
                var quantity = reading.Type == DerType.V2xCharger ? Quantity.VehicleStateOfCharge : Quantity.StateOfCharge;
                if (!reading.TryGet(quantity, Unit.Fraction, out var fraction))
                {
                    return null;
                }

                var percent = fraction * 100;
                return Compare(rule, percent);
            }

            case AlertType.Stale:
                // A reading is the end of any silence.
                return new Observation(0, Breach: false, Clear: true, Text: "Reporting again.");

            case AlertType.Threshold:
            {
                var field = rule.Rule.Field!;
                if (!NovacoreReading.TryGetField(reading, field, out var value))
                {
                    return null;
                }

                return Compare(rule, value);
            }

            default:
                return null; // source_down is about statuses, not readings
        }
    }

    /// <summary>A DER silent for <paramref name="silentMs"/>.</summary>
    public static Observation Silence(CompiledRule rule, long silentMs)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var seconds = silentMs / 1000.0;
        return new Observation(seconds, rule.Breaches(seconds), Clear: false);
    }

    private const double MinPhaseLoadKw = 0.05;

    // Below a tenth of the rating the clear-sky estimate says little (low sun, shading): the rule waits for daylight.
    private const double MinExpectedFraction = 0.1;

    private static Observation Compare(CompiledRule rule, double value) =>
        new(value, rule.Breaches(value), rule.Clears(value));

    /// <summary>The alert's message for this observation of <paramref name="rule"/>.</summary>
    public string Describe(CompiledRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (Text is not null)
        {
            return Text;
        }

        var t = rule.Threshold;
        var v = Value;
        return rule.Type switch
        {
            AlertType.HighConsumption => string.Create(Invariant, $"High power consumption: {v:0.00} kW (threshold {t:0.##} kW)"),
            AlertType.LowVoltage => string.Create(Invariant, $"Low voltage detected: {v:0.#} V (threshold {t:0.#} V)"),
            AlertType.HighVoltage => string.Create(Invariant, $"High voltage detected: {v:0.#} V (threshold {t:0.#} V)"),
            AlertType.PhaseImbalance => string.Create(Invariant, $"Phase imbalance: {v:0.0}% (threshold {t:0.#}%)"),
            AlertType.SolarDrop when Expected <= 0 => "The sun is too low to expect production.",
            AlertType.SolarDrop => string.Create(Invariant, $"Solar production below expected: {Produced:0.00} kW, {v:P0} of the {Expected:0.00} kW a clear sky gives now"),
            AlertType.LowSoc => string.Create(Invariant, $"Low state of charge: {v:0.#}% (threshold {t:0.#}%)"),
            AlertType.Stale => string.Create(Invariant, $"No reading for {v:0} s (threshold {t:0} s)"),
            AlertType.Threshold => string.Create(Invariant, $"{rule.Rule.Field} is {v:0.###} ({rule.Rule.Operator} {t:0.###})"),
            _ => rule.Type.ToWireName(),
        };
    }

    private static bool TryImportKw(Reading reading, out double kw)
    {
        if (reading.TryGet(Quantity.ActivePowerImport, Unit.Kilowatt, out kw))
        {
            return true;
        }

        if (reading.TryGet(Quantity.ActivePower, Unit.Kilowatt, out var net))
        {
            kw = Math.Max(0, net);
            return true;
        }

        return false;
    }

    // Meters and chargers (the only types voltage rules apply to) carry AC voltages under these.
    private static readonly Quantity[] VoltageQuantities = [Quantity.VoltageL1, Quantity.VoltageL2, Quantity.VoltageL3, Quantity.Voltage];

    private static readonly (Quantity Import, Quantity Net)[] PhaseLoads =
    [
        (Quantity.ActivePowerImportL1, Quantity.ActivePowerL1),
        (Quantity.ActivePowerImportL2, Quantity.ActivePowerL2),
        (Quantity.ActivePowerImportL3, Quantity.ActivePowerL3),
    ];
}
