using System.Globalization;
using Wattstream.Alerts.Rules;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Alerts.Evaluation;

/// <summary>What one reading says about one rule: the value the rule watches, and whether it breaches or clears.</summary>
public readonly record struct Observation(double Value, bool Breach, bool Clear, string Message)
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

                return Compare(rule, kw, string.Create(Invariant, $"High power consumption: {kw:0.00} kW (threshold {rule.Threshold:0.##} kW)"));
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
                var word = rule.Type == AlertType.LowVoltage ? "Low" : "High";
                return Compare(rule, value, string.Create(Invariant, $"{word} voltage detected: {value:0.#} V (threshold {rule.Threshold:0.#} V)"));
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
                return Compare(rule, percent, string.Create(Invariant, $"Phase imbalance: {percent:0.0}% (threshold {rule.Threshold:0.#}%)"));
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
                    return new Observation(0, Breach: false, Clear: true, "The sun is too low to expect production.");
                }

                var ratio = produced / expected;
                return Compare(rule, ratio, string.Create(Invariant, $"Solar production below expected: {produced:0.00} kW, {ratio:P0} of the {expected:0.00} kW a clear sky gives now"));
            }

            case AlertType.LowSoc:
            {
                var quantity = reading.Type == DerType.V2xCharger ? Quantity.VehicleStateOfCharge : Quantity.StateOfCharge;
                if (!reading.TryGet(quantity, Unit.Fraction, out var fraction))
                {
                    return null;
                }

                var percent = fraction * 100;
                return Compare(rule, percent, string.Create(Invariant, $"Low state of charge: {percent:0.#}% (threshold {rule.Threshold:0.#}%)"));
            }

            case AlertType.Stale:
                // A reading is the end of any silence.
                return new Observation(0, Breach: false, Clear: true, "Reporting again.");

            case AlertType.Threshold:
            {
                var field = rule.Rule.Field!;
                if (!NovacoreReading.TryGetField(reading, field, out var value))
                {
                    return null;
                }

                return Compare(rule, value, string.Create(Invariant, $"{field} is {value:0.###} ({rule.Rule.Operator} {rule.Threshold:0.###})"));
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
        return new Observation(seconds, rule.Breaches(seconds), Clear: false, string.Create(Invariant, $"No reading for {seconds:0} s (threshold {rule.Threshold:0} s)"));
    }

    private const double MinPhaseLoadKw = 0.05;

    // Below a tenth of the rating the clear-sky estimate says little (low sun, shading): the rule waits for daylight.
    private const double MinExpectedFraction = 0.1;

    private static Observation Compare(CompiledRule rule, double value, string message) =>
        new(value, rule.Breaches(value), rule.Clears(value), message);

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
