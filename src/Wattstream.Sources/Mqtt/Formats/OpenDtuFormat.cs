using System.Globalization;
using System.Text;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// OpenDTU (Hoymiles micro-inverters): one plain value per topic, <c>&lt;base&gt;/&lt;serial&gt;/0/…</c> for the
/// inverter's AC side and <c>&lt;base&gt;/&lt;serial&gt;/&lt;n&gt;/…</c> for its DC inputs (strings), with
/// <c>&lt;serial&gt;/status/reachable</c> (0/1) and the DTU's last will <c>&lt;base&gt;/dtu/status</c>
/// (<c>online</c>/<c>offline</c>). One pv DER per inverter, named by its serial; each measured value publishes the
/// DER's reading with the newest value of everything known about it.
/// </summary>
/// <remarks>
/// Units are OpenDTU's: W, V, A, Hz, var, °C, <c>yieldtotal</c> in kWh (the generation register), <c>yieldday</c> in
/// Wh (kept as an extra), the power factor in % (the model's is a fraction). Inputs 1 and 2 are the model's MPPT 1 and
/// 2 voltage and current; every other input value, and the inverter's name and status values, are extras.
/// </remarks>
public sealed class OpenDtuFormat(MqttAddressing addressing) : IMqttFormat
{
    public const string FormatName = "opendtu";

    private readonly Lock _gate = new();
    private readonly Dictionary<DerAddress, TopicValuesDer> _ders = [];

    public string Name => FormatName;

    public IReadOnlyList<string> DefaultTopics { get; } = ["solar/#"];

    public MqttContent Read(string topic, ReadOnlySpan<byte> payload, long receivedAt)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var levels = topic.Split('/');
        var text = Encoding.UTF8.GetString(payload).Trim();
        if (levels.Length >= 2 && levels[^2] == "dtu" && levels[^1] == "status")
        {
            return DtuStatus(text);
        }

        if (levels.Length < 3 || levels[^3] == "dtu" || levels[^2] == "dtu")
        {
            return MqttContent.Nothing; // the DTU's own ip, hostname, rssi, uptime
        }

        var serial = levels[^3];
        var group = levels[^2];
        var field = levels[^1];
        if (group == "status")
        {
            return field == "reachable" ? Reachable(addressing.Address(serial), text) : Keep(addressing.Address(serial), $"status/{field}", text);
        }

        if (!int.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var channel))
        {
            // <serial>/device/…, <serial>/cmd/…; <serial>/name has no channel level
            return levels.Length >= 2 && field == "name" ? Keep(addressing.Address(group), "name", text) : MqttContent.Nothing;
        }

        var der = addressing.Address(serial);
        var map = channel == 0 ? Ac(field) : Input(channel, field);
        return map is { } m ? Measure(der, field, text, m, receivedAt) : Keep(der, channel == 0 ? field : $"{channel}/{field}", text);
    }

    private static (Quantity Quantity, Unit Unit, double Scale)? Ac(string field) => field switch
    {
        "power" => (Quantity.ActivePower, Unit.Watt, -1), // generation is negative in the hub
        "yieldtotal" => (Quantity.EnergyGenerated, Unit.KilowattHour, 1),
        "voltage" => (Quantity.Voltage, Unit.Volt, 1),
        "current" => (Quantity.Current, Unit.Ampere, 1),
        "frequency" => (Quantity.Frequency, Unit.Hertz, 1),
        "powerdc" => (Quantity.DcPower, Unit.Watt, 1),
        "reactivepower" => (Quantity.ReactivePower, Unit.Var, 1),
        "powerfactor" => (Quantity.PowerFactor, Unit.None, 0.01),
        "temperature" => (Quantity.HeatsinkTemperature, Unit.Celsius, 1),
        _ => null,
    };

    private static (Quantity Quantity, Unit Unit, double Scale)? Input(int channel, string field) => (channel, field) switch
    {
        (1, "voltage") => (Quantity.Mppt1Voltage, Unit.Volt, 1),
        (1, "current") => (Quantity.Mppt1Current, Unit.Ampere, 1),
        (2, "voltage") => (Quantity.Mppt2Voltage, Unit.Volt, 1),
        (2, "current") => (Quantity.Mppt2Current, Unit.Ampere, 1),
        _ => null,
    };

    private MqttContent Measure(DerAddress der, string field, string text, (Quantity Quantity, Unit Unit, double Scale) map, long receivedAt)
    {
        var value = PlainNumber.Parse(text, $"OpenDTU's '{field}'");

        lock (_gate)
        {
            var state = State(der);
            state.Measurements[map.Quantity] = new Measurement(map.Quantity, value * map.Scale, map.Unit);

            var reading = state.Reading(receivedAt, FormatName);
            return MqttContent.Of(new MqttReading(reading, null));
        }
    }

    private MqttContent Keep(DerAddress der, string name, string text)
    {
        lock (_gate)
        {
            State(der).Keep(name, text);
        }

        return MqttContent.Nothing;
    }

    private static MqttContent Reachable(DerAddress der, string text) => text switch
    {
        "1" => MqttContent.Of(new MqttAvailability([(der, DerType.Pv)], Online: true)),
        "0" => MqttContent.Of(new MqttAvailability([(der, DerType.Pv)], Online: false)),
        _ => throw new TelemetryFormatException($"OpenDTU's 'status/reachable' must be 0 or 1, not '{Excerpt.Of(text, 20)}'"),
    };

    // The DTU's last will: every inverter read through it so far goes offline or online with it.
    private MqttContent DtuStatus(string text)
    {
        var online = text switch
        {
            "online" => true,
            "offline" => false,
            _ => throw new TelemetryFormatException($"OpenDTU's 'dtu/status' must be online or offline, not '{Excerpt.Of(text, 20)}'"),
        };
        lock (_gate)
        {
            var ders = _ders.Keys.Select(d => (d, DerType.Pv)).ToArray();
            return ders.Length == 0 ? MqttContent.Nothing : MqttContent.Of(new MqttAvailability(ders, online));
        }
    }

    private TopicValuesDer State(DerAddress der)
    {
        if (!_ders.TryGetValue(der, out var state))
        {
            state = new TopicValuesDer(der, DerType.Pv);
            _ders[der] = state;
        }

        return state;
    }
}
