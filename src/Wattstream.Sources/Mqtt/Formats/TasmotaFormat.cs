using System.Globalization;
using System.Text;
using System.Text.Json;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// Tasmota's energy monitors (plugs, DIN-rail meters, PZEM and ADE7880 three-phase meters): <c>tele/&lt;topic&gt;/SENSOR</c>
/// with its <c>ENERGY</c> object, and the retained last will <c>tele/&lt;topic&gt;/LWT</c> (<c>Online</c>/<c>Offline</c>).
/// One meter DER per Tasmota topic. Scalars are one phase (L1); arrays are per phase (L1–L3) with the total their sum.
/// </summary>
/// <remarks>
/// Units are Tasmota's: W, VA, var, V, A, Hz and kWh. <c>Today</c>, <c>Yesterday</c>, <c>TotalStartTime</c>, <c>Period</c>
/// and any other sensor in the message are kept as extras. A custom FullTopic (<c>%topic%/%prefix%/</c>, or more
/// levels) works too: every level but <c>tele</c> and the last makes the device name, joined with "-".
/// </remarks>
public sealed class TasmotaFormat(MqttAddressing addressing) : IMqttFormat
{
    public const string FormatName = "tasmota";

    public string Name => FormatName;

    public IReadOnlyList<string> DefaultTopics { get; } = ["tele/+/SENSOR", "tele/+/LWT"];

    public MqttContent Read(string topic, ReadOnlySpan<byte> payload, long receivedAt)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var levels = topic.Split('/');
        var device = string.Join('-', levels[..^1].Where(l => l != "tele"));
        return levels[^1] switch
        {
            "SENSOR" => Sensor(addressing.Address(device), payload, receivedAt),
            "LWT" => Will(addressing.Address(device), payload),
            _ => MqttContent.Nothing, // STATE, INFO, RESULT: nothing to measure
        };
    }

    private static MqttContent Will(DerAddress meter, ReadOnlySpan<byte> payload)
    {
        var text = Encoding.UTF8.GetString(payload).Trim();
        return text switch
        {
            "Online" => MqttContent.Of(new MqttAvailability([(meter, DerType.Meter)], Online: true)),
            "Offline" => MqttContent.Of(new MqttAvailability([(meter, DerType.Meter)], Online: false)),
            _ => throw new TelemetryFormatException($"an LWT payload must be Online or Offline, not '{Excerpt.Of(text, 20)}'"),
        };
    }

    private MqttContent Sensor(DerAddress meter, ReadOnlySpan<byte> payload, long receivedAt)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload.ToArray());
        }
        catch (JsonException e)
        {
            throw TelemetryFormatException.Malformed(e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new TelemetryFormatException("a SENSOR payload must be a JSON object");
            }

            if (!root.TryGetProperty("ENERGY", out var energy))
            {
                return MqttContent.Nothing; // a temperature or other sensor: no energy monitor here
            }

            if (energy.ValueKind != JsonValueKind.Object)
            {
                throw new TelemetryFormatException("'ENERGY' must be a JSON object");
            }

            var measurements = new List<Measurement>(16);
            var extras = new List<ReadingField>();
            var errors = new List<string>();
            long? deviceTime = null;
            foreach (var member in root.EnumerateObject())
            {
                switch (member.Name)
                {
                    case "ENERGY":
                        break;
                    case "Time":
                        deviceTime = Time(member.Value, errors);
                        break;
                    default:
                        extras.Add(Extra(member));
                        break;
                }
            }

            foreach (var member in energy.EnumerateObject())
            {
                var mapped = member.Name switch
                {
                    "Power" => Phases(member, Quantity.ActivePower, [Quantity.ActivePowerL1, Quantity.ActivePowerL2, Quantity.ActivePowerL3], Unit.Watt, measurements, errors),
                    "Voltage" => Phases(member, null, [Quantity.VoltageL1, Quantity.VoltageL2, Quantity.VoltageL3], Unit.Volt, measurements, errors),
                    "Current" => Phases(member, null, [Quantity.CurrentL1, Quantity.CurrentL2, Quantity.CurrentL3], Unit.Ampere, measurements, errors),
                    "ApparentPower" => Total(member, Quantity.ApparentPower, Unit.VoltAmpere, measurements, errors),
                    "ReactivePower" => Total(member, Quantity.ReactivePower, Unit.Var, measurements, errors),
                    "Total" => Total(member, Quantity.EnergyImport, Unit.KilowattHour, measurements, errors),
                    "ExportActive" => Total(member, Quantity.EnergyExport, Unit.KilowattHour, measurements, errors),
                    "Factor" => Single(member, Quantity.PowerFactor, Unit.None, measurements, errors),
                    "Frequency" => Frequency(member, measurements, errors),
                    _ => false,
                };
                if (!mapped)
                {
                    extras.Add(Extra(member));
                }
            }

            TelemetryFormatException.ThrowIfAny(errors);
            var reading = new Reading(meter, DerType.Meter, receivedAt, null, measurements, null, extras, FormatName);
            return MqttContent.Of(new MqttReading(reading, deviceTime));
        }
    }

    // A scalar is phase L1 (a plug, a single-phase meter); an array holds one value per phase. The total (when there is
    // one) is the scalar, or the sum of the phases.
    private static bool Phases(JsonProperty member, Quantity? total, Quantity[] phases, Unit unit, List<Measurement> into, List<string> errors)
    {
        if (member.Value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (member.Value.ValueKind == JsonValueKind.Array)
        {
            var values = Numbers(member, errors);
            if (values is null || values.Length > phases.Length)
            {
                return values is null; // more values than phases: channels of a multi-channel device, kept as an extra
            }

            for (var i = 0; i < values.Length; i++)
            {
                into.Add(new Measurement(phases[i], values[i], unit));
            }

            if (total is { } sum)
            {
                into.Add(new Measurement(sum, values.Sum(), unit));
            }

            return true;
        }

        if (Number(member, errors) is { } value)
        {
            into.Add(new Measurement(phases[0], value, unit));
            if (total is { } single)
            {
                into.Add(new Measurement(single, value, unit));
            }
        }

        return true;
    }

    private static bool Total(JsonProperty member, Quantity quantity, Unit unit, List<Measurement> into, List<string> errors)
    {
        if (member.Value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        var value = member.Value.ValueKind == JsonValueKind.Array ? Numbers(member, errors)?.Sum() : Number(member, errors);
        if (value is { } v)
        {
            into.Add(new Measurement(quantity, v, unit));
        }

        return true;
    }

    // A quantity the model holds once per reading: a scalar maps, per-phase values stay an extra.
    private static bool Single(JsonProperty member, Quantity quantity, Unit unit, List<Measurement> into, List<string> errors)
    {
        if (member.Value.ValueKind == JsonValueKind.Array)
        {
            return false;
        }

        if (member.Value.ValueKind != JsonValueKind.Null && Number(member, errors) is { } value)
        {
            into.Add(new Measurement(quantity, value, unit));
        }

        return true;
    }

    // The phases of one grid share its frequency: a three-phase meter's per-phase values give the first.
    private static bool Frequency(JsonProperty member, List<Measurement> into, List<string> errors)
    {
        if (member.Value.ValueKind != JsonValueKind.Array)
        {
            return Single(member, Quantity.Frequency, Unit.Hertz, into, errors);
        }

        if (Numbers(member, errors) is [var first, ..])
        {
            into.Add(new Measurement(Quantity.Frequency, first, Unit.Hertz));
        }

        return true;
    }

    private static double? Number(JsonProperty member, List<string> errors)
    {
        if (member.Value.ValueKind == JsonValueKind.Number && member.Value.TryGetDouble(out var v) && double.IsFinite(v))
        {
            return v;
        }

        errors.Add($"'ENERGY.{member.Name}' must be a number");
        return null;
    }

    private static double[]? Numbers(JsonProperty member, List<string> errors)
    {
        var values = new List<double>(3);
        foreach (var item in member.Value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out var v) || !double.IsFinite(v))
            {
                errors.Add($"'ENERGY.{member.Name}' must hold numbers");
                return null;
            }

            values.Add(v);
        }

        return [.. values];
    }

    // Tasmota writes its local time without an offset ("2022-01-11T21:57:38"), or with one when told to (TimeStamp 1).
    private long? Time(JsonElement value, List<string> errors)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add("'Time' must be a string");
            return null;
        }

        var text = value.GetString()!;
        if (DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture, DateTimeStyles.None, out var withOffset))
        {
            return withOffset.ToUnixTimeMilliseconds();
        }

        if (DateTime.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return new DateTimeOffset(local, addressing.TimeZone.GetUtcOffset(local)).ToUnixTimeMilliseconds();
        }

        errors.Add("'Time' must be yyyy-MM-ddTHH:mm:ss");
        return null;
    }

    private static ReadingField Extra(JsonProperty member) => new(member.Name, Encoding.UTF8.GetBytes(member.Value.GetRawText()));
}
