using System.Text;
using System.Text.Json;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// Shelly's second and later generations (Plus, Pro, Gen3, Gen4): the RPC notifications on <c>&lt;prefix&gt;/events/rpc</c>
/// (<c>NotifyStatus</c>, <c>NotifyFullStatus</c>), the generic status messages <c>&lt;prefix&gt;/status/&lt;component&gt;</c>,
/// and the retained <c>&lt;prefix&gt;/online</c> (<c>true</c>/<c>false</c>, the device's last will).
/// </summary>
/// <remarks>
/// One meter DER per measuring component: the three-phase <c>em:0</c> and its energy registers <c>emdata:0</c> are the
/// device's own DER (named by its prefix); <c>em1:N</c>/<c>em1data:N</c>, <c>pm1:N</c> and <c>switch:N</c> are
/// "&lt;prefix&gt;-&lt;component&gt;" (<c>shellyplus1pm-a8032ab12345-switch:0</c>). Units are Shelly's: W, VA, V, A, Hz
/// and Wh. Power and energy come in separate messages (a Pro 3EM's <c>emdata:0</c> once a minute), so they are separate
/// readings of the same DER. Members not mapped are kept as extras; components that measure nothing (sys, wifi, input,
/// a switch without metering) are nothing.
/// </remarks>
public sealed class ShellyGen2Format(MqttAddressing addressing) : IMqttFormat
{
    public const string FormatName = "shelly-gen2";

    private static readonly string[] PhasePrefixes = ["a_", "b_", "c_"];
    private static readonly Quantity[] PhasePower = [Quantity.ActivePowerL1, Quantity.ActivePowerL2, Quantity.ActivePowerL3];
    private static readonly Quantity[] PhaseVoltage = [Quantity.VoltageL1, Quantity.VoltageL2, Quantity.VoltageL3];
    private static readonly Quantity[] PhaseCurrent = [Quantity.CurrentL1, Quantity.CurrentL2, Quantity.CurrentL3];

    // The DERs each device prefix has shown, so that its last will marks all of them (guarded by itself).
    private readonly ShellyOnline _online = new(addressing);
    private readonly Dictionary<DerAddress, long> _lastTime = [];

    public string Name => FormatName;

    public IReadOnlyList<string> DefaultTopics { get; } = ["+/events/rpc", "+/status/+", "+/online"];

    public MqttContent Read(string topic, ReadOnlySpan<byte> payload, long receivedAt)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var levels = topic.Split('/');
        if (levels.Length >= 2 && levels[^1] == "online")
        {
            return _online.Read(Device(levels[..^1]), payload);
        }

        if (levels.Length >= 3 && levels[^2] == "events" && levels[^1] == "rpc")
        {
            return Notification(Device(levels[..^2]), payload, receivedAt);
        }

        if (levels.Length >= 3 && levels[^2] == "status")
        {
            using var document = Parse(payload);
            var reading = Component(Device(levels[..^2]), levels[^1], document.RootElement, receivedAt);
            return reading is null ? MqttContent.Nothing : MqttContent.Of(new MqttReading(reading, null));
        }

        return MqttContent.Nothing; // command answers (<prefix>/rpc responses) and the like: nothing to measure
    }

    private static string Device(string[] levels) => string.Join('-', levels);

    private MqttContent Notification(string device, ReadOnlySpan<byte> payload, long receivedAt)
    {
        using var document = Parse(payload);
        var root = document.RootElement;
        if (!root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String)
        {
            throw new TelemetryFormatException("an RPC notification must have a string 'method'");
        }

        if (method.GetString() is not ("NotifyStatus" or "NotifyFullStatus"))
        {
            return MqttContent.Nothing; // NotifyEvent: button presses and the like
        }

        if (!root.TryGetProperty("params", out var parameters) || parameters.ValueKind != JsonValueKind.Object)
        {
            throw new TelemetryFormatException("a NotifyStatus must have a 'params' object");
        }

        long? deviceTime = null;
        if (parameters.TryGetProperty("ts", out var ts))
        {
            deviceTime = ts.ValueKind == JsonValueKind.Number && ts.TryGetDouble(out var seconds) && double.IsFinite(seconds) && seconds > 0
                ? (long)Math.Round(seconds * 1000)
                : throw new TelemetryFormatException("'params.ts' must be a Unix time in seconds");
        }

        var readings = new List<MqttReading>();
        foreach (var component in parameters.EnumerateObject())
        {
            if (component.Name != "ts" && Component(device, component.Name, component.Value, receivedAt) is { } reading)
            {
                readings.Add(new MqttReading(reading, deviceTime));
            }
        }

        return readings.Count == 0 ? MqttContent.Nothing : new MqttContent(readings, null);
    }

    // One component's status (whole, or the changed part a NotifyStatus carries) as a reading of its DER, or null
    // when the component measures nothing.
    private Reading? Component(string device, string key, JsonElement status, long receivedAt)
    {
        var type = key.Split(':')[0];
        if (type is not ("em" or "emdata" or "em1" or "em1data" or "pm1" or "switch"))
        {
            return null;
        }

        if (status.ValueKind != JsonValueKind.Object)
        {
            throw new TelemetryFormatException($"the status of '{Excerpt.Of(key, 32)}' must be a JSON object");
        }

        var measurements = new List<Measurement>(16);
        var extras = new List<ReadingField>();
        var errors = new List<string>();
        foreach (var member in status.EnumerateObject())
        {
            if (member.Name == "id")
            {
                continue;
            }

            var mapped = type switch
            {
                "em" => ThreePhase(member, measurements, errors),
                "emdata" => member.Name switch
                {
                    "total_act" => Add(member, Quantity.EnergyImport, Unit.WattHour, measurements, errors),
                    "total_act_ret" => Add(member, Quantity.EnergyExport, Unit.WattHour, measurements, errors),
                    _ => false,
                },
                "em1data" => member.Name switch
                {
                    "total_act_energy" => Add(member, Quantity.EnergyImport, Unit.WattHour, measurements, errors),
                    "total_act_ret_energy" => Add(member, Quantity.EnergyExport, Unit.WattHour, measurements, errors),
                    _ => false,
                },
                _ => SinglePhase(member, measurements, errors),
            };
            if (!mapped)
            {
                extras.Add(new ReadingField(member.Name, Encoding.UTF8.GetBytes(member.Value.GetRawText())));
            }
        }

        TelemetryFormatException.ThrowIfAny(errors);
        if (measurements.Count == 0)
        {
            return null; // a switch without metering, or a notification of its output alone
        }

        // em:0 and emdata:0 are the device itself; em1:1 and em1data:1 are one channel, as are pm1:N and switch:N.
        var der = type switch
        {
            "em" or "emdata" => addressing.Address(device, key.EndsWith(":0", StringComparison.Ordinal) ? null : "em:" + key[(type.Length + 1)..]),
            "em1data" => addressing.Address(device, "em1:" + key[(type.Length + 1)..]),
            _ => addressing.Address(device, key),
        };
        _online.Seen(device, der);
        lock (_lastTime)
        {
            // em:0 and emdata:0 in one notification are two readings of one DER: the hub takes one per DER and time.
            receivedAt = _lastTime.TryGetValue(der, out var last) ? Math.Max(receivedAt, last + 1) : receivedAt;
            _lastTime[der] = receivedAt;
        }

        return new Reading(der, DerType.Meter, receivedAt, null, measurements, null, extras, FormatName);
    }

    private static bool ThreePhase(JsonProperty member, List<Measurement> into, List<string> errors)
    {
        switch (member.Name)
        {
            case "total_act_power":
                return Add(member, Quantity.ActivePower, Unit.Watt, into, errors);
            case "total_aprt_power":
                return Add(member, Quantity.ApparentPower, Unit.VoltAmpere, into, errors);
            case "total_current":
                return Add(member, Quantity.Current, Unit.Ampere, into, errors);
            case "a_freq":
                return Add(member, Quantity.Frequency, Unit.Hertz, into, errors); // the phases share the grid's frequency
        }

        for (var phase = 0; phase < PhasePrefixes.Length; phase++)
        {
            if (!member.Name.StartsWith(PhasePrefixes[phase], StringComparison.Ordinal))
            {
                continue;
            }

            return member.Name[2..] switch
            {
                "act_power" => Add(member, PhasePower[phase], Unit.Watt, into, errors),
                "voltage" => Add(member, PhaseVoltage[phase], Unit.Volt, into, errors),
                "current" => Add(member, PhaseCurrent[phase], Unit.Ampere, into, errors),
                _ => false, // a_pf, a_aprt_power, b_freq: the model holds them once per reading; kept as extras
            };
        }

        return false;
    }

    // em1, pm1 and switch: one circuit, counted as phase L1.
    private static bool SinglePhase(JsonProperty member, List<Measurement> into, List<string> errors)
    {
        switch (member.Name)
        {
            case "act_power" or "apower":
                return Add(member, Quantity.ActivePower, Unit.Watt, into, errors) && Add(member, Quantity.ActivePowerL1, Unit.Watt, into, errors);
            case "voltage":
                return Add(member, Quantity.VoltageL1, Unit.Volt, into, errors);
            case "current":
                return Add(member, Quantity.CurrentL1, Unit.Ampere, into, errors);
            case "aprt_power":
                return Add(member, Quantity.ApparentPower, Unit.VoltAmpere, into, errors);
            case "pf":
                return Add(member, Quantity.PowerFactor, Unit.None, into, errors);
            case "freq":
                return Add(member, Quantity.Frequency, Unit.Hertz, into, errors);
            case "aenergy" or "ret_aenergy":
                // {"total": Wh, "by_minute": [...], "minute_ts": …}: the register maps, the minutes stay an extra.
                if (member.Value.ValueKind == JsonValueKind.Object && member.Value.TryGetProperty("total", out var total))
                {
                    var quantity = member.Name == "aenergy" ? Quantity.EnergyImport : Quantity.EnergyExport;
                    if (total.ValueKind == JsonValueKind.Number && total.TryGetDouble(out var wh) && double.IsFinite(wh))
                    {
                        into.Add(new Measurement(quantity, wh, Unit.WattHour));
                    }
                    else
                    {
                        errors.Add($"'{member.Name}.total' must be a number");
                    }
                }

                return false;
            default:
                return false;
        }
    }

    private static bool Add(JsonProperty member, Quantity quantity, Unit unit, List<Measurement> into, List<string> errors)
    {
        if (member.Value.ValueKind == JsonValueKind.Null)
        {
            return true; // Shelly sends null for what it does not measure (n_current without a neutral CT)
        }

        if (member.Value.ValueKind == JsonValueKind.Number && member.Value.TryGetDouble(out var v) && double.IsFinite(v))
        {
            into.Add(new Measurement(quantity, v, unit));
        }
        else
        {
            errors.Add($"'{member.Name}' must be a number");
        }

        return true;
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> payload)
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

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new TelemetryFormatException("a Shelly payload must be a JSON object");
        }

        return document;
    }
}
