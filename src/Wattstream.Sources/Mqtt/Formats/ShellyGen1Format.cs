using System.Globalization;
using System.Text;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// Shelly's first-generation energy meters, the EM and the 3EM: one number per topic,
/// <c>shellies/&lt;id&gt;/emeter/&lt;i&gt;/{power,voltage,current,pf,total,total_returned}</c>, and the retained last will
/// <c>shellies/&lt;id&gt;/online</c> (<c>true</c>/<c>false</c>).
/// </summary>
/// <remarks>
/// A 3EM (an id starting with <c>shellyem3</c>) is one three-phase meter DER named by its id: emeter 0–2 are phases
/// L1–L3, and once each phase has reported, the total power and the energy registers are the sums of the phases' latest
/// values. Each message's reading holds the DER's latest value of every quantity so far, not only the message's. An EM's two channels are separate circuits: DERs "&lt;id&gt;-emeter:&lt;i&gt;". Units are Shelly's: W, V, A
/// and Wh. A topic holds one bare number, so there are no extras: other emeter values (<c>energy</c>, <c>returned_energy</c>,
/// and a 3EM phase's <c>pf</c> and <c>reactive_power</c>, which the model holds once per reading) are no reading.
/// </remarks>
public sealed class ShellyGen1Format(MqttAddressing addressing) : IMqttFormat
{
    public const string FormatName = "shelly-gen1";

    private static readonly Quantity[] PhasePower = [Quantity.ActivePowerL1, Quantity.ActivePowerL2, Quantity.ActivePowerL3];
    private static readonly Quantity[] PhaseVoltage = [Quantity.VoltageL1, Quantity.VoltageL2, Quantity.VoltageL3];
    private static readonly Quantity[] PhaseCurrent = [Quantity.CurrentL1, Quantity.CurrentL2, Quantity.CurrentL3];

    // A 3EM's latest per-phase power and registers, to sum (guarded by itself).
    private readonly Dictionary<(string Device, string Value), double?[]> _phases = [];
    private readonly ShellyOnline _online = new(addressing);
    private readonly Dictionary<DerAddress, (Dictionary<Quantity, Measurement> Values, long Last)> _latest = [];

    public string Name => FormatName;

    public IReadOnlyList<string> DefaultTopics { get; } = ["shellies/+/emeter/+/+", "shellies/+/online"];

    public MqttContent Read(string topic, ReadOnlySpan<byte> payload, long receivedAt)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var levels = topic.Split('/');
        if (levels is [_, var device, "online"])
        {
            return _online.Read(device, payload);
        }

        if (levels is not [_, var id, "emeter", var channel, var value])
        {
            return MqttContent.Nothing; // relays, inputs, announce: nothing to measure
        }

        if (!int.TryParse(channel, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index > 2)
        {
            throw new TelemetryFormatException($"an emeter index must be 0, 1 or 2, not '{Excerpt.Of(channel, 8)}'");
        }

        var text = Encoding.UTF8.GetString(payload).Trim();
        var number = PlainNumber.Parse(text, $"'{value}'");

        var measurements = id.StartsWith("shellyem3", StringComparison.OrdinalIgnoreCase)
            ? Phase(id, index, value, number)
            : Channel(value, number);
        if (measurements.Count == 0)
        {
            return MqttContent.Nothing;
        }

        var der = id.StartsWith("shellyem3", StringComparison.OrdinalIgnoreCase) ? addressing.Address(id) : addressing.Address(id, $"emeter:{index}");
        _online.Seen(id, der);

        // One value per message, the device's values in a burst within a millisecond: each reading is the DER's latest
        // values so far, a millisecond after the previous one at least (the hub takes one reading per DER and time).
        Measurement[] snapshot;
        long timestamp;
        lock (_latest)
        {
            if (!_latest.TryGetValue(der, out var latest))
            {
                _latest[der] = latest = (new Dictionary<Quantity, Measurement>(), long.MinValue);
            }

            foreach (var m in measurements)
            {
                latest.Values[m.Quantity] = m;
            }

            timestamp = Math.Max(receivedAt, latest.Last + 1);
            _latest[der] = (latest.Values, timestamp);
            snapshot = [.. latest.Values.Values];
        }

        return MqttContent.Of(new MqttReading(new Reading(der, DerType.Meter, timestamp, null, snapshot, null, [], FormatName), null));
    }

    // An EM channel: one circuit, counted as phase L1.
    private static List<Measurement> Channel(string value, double number) => value switch
    {
        "power" => [new(Quantity.ActivePower, number, Unit.Watt), new(Quantity.ActivePowerL1, number, Unit.Watt)],
        "reactive_power" => [new(Quantity.ReactivePower, number, Unit.Var)],
        "voltage" => [new(Quantity.VoltageL1, number, Unit.Volt)],
        "current" => [new(Quantity.CurrentL1, number, Unit.Ampere)],
        "pf" => [new(Quantity.PowerFactor, number, Unit.None)],
        "total" => [new(Quantity.EnergyImport, number, Unit.WattHour)],
        "total_returned" => [new(Quantity.EnergyExport, number, Unit.WattHour)],
        _ => [],
    };

    // A 3EM phase: its own value, and the sum over the phases once all three are known.
    private List<Measurement> Phase(string device, int phase, string value, double number)
    {
        (Quantity? Own, Quantity Sum, Unit Unit)? map = value switch
        {
            "power" => (PhasePower[phase], Quantity.ActivePower, Unit.Watt),
            "total" => (null, Quantity.EnergyImport, Unit.WattHour),
            "total_returned" => (null, Quantity.EnergyExport, Unit.WattHour),
            _ => null,
        };
        switch (value)
        {
            case "voltage":
                return [new(PhaseVoltage[phase], number, Unit.Volt)];
            case "current":
                return [new(PhaseCurrent[phase], number, Unit.Ampere)];
        }

        if (map is not { } m)
        {
            return []; // a phase's pf, reactive power, energy: the model holds them once per reading
        }

        var result = new List<Measurement>(2);
        if (m.Own is { } own)
        {
            result.Add(new Measurement(own, number, m.Unit));
        }

        lock (_phases)
        {
            if (!_phases.TryGetValue((device, value), out var latest))
            {
                _phases[(device, value)] = latest = new double?[3];
            }

            latest[phase] = number;
            if (latest.All(v => v.HasValue))
            {
                result.Add(new Measurement(m.Sum, latest.Sum(v => v!.Value), m.Unit));
            }
        }

        return result;
    }
}
