using System.Globalization;
using System.Text;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// evcc's MQTT API: every field of its state on its own topic, one plain value per message
/// (<c>evcc/site/gridPower</c> = <c>1234.5</c>, <c>evcc/loadpoints/1/charging</c> = <c>true</c>), and the retained
/// <c>evcc/status</c> (<c>online</c>/<c>offline</c>, its last will). The values are combined per DER: the site's grid
/// meter, PV and battery, and a v2x_charger per loadpoint; each measured value that arrives publishes its DER's reading
/// with the newest value of everything known about it.
/// </summary>
/// <remarks>
/// evcc's signs are turned into the hub's: PV power is generation (published negative), the battery's power is
/// + discharging in evcc and + charging here. The root topic (evcc's <c>mqtt.topic</c>, default <c>evcc</c>; several
/// levels joined with "-") is the device. Fields without a quantity in the model (the home's power, tariffs, a loadpoint's mode and title,
/// <c>charging</c>, …) are kept as extras of the DER they belong to and travel with its next reading.
/// </remarks>
public sealed class EvccFormat(MqttAddressing addressing) : IMqttFormat
{
    public const string FormatName = "evcc";

    private readonly Lock _gate = new();
    private readonly Dictionary<DerAddress, TopicValuesDer> _ders = [];

    public string Name => FormatName;

    public IReadOnlyList<string> DefaultTopics { get; } = ["evcc/site/#", "evcc/loadpoints/#", "evcc/status"];

    public MqttContent Read(string topic, ReadOnlySpan<byte> payload, long receivedAt)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var levels = topic.Split('/');
        var text = Encoding.UTF8.GetString(payload).Trim();

        // evcc's root topic (mqtt.topic) may have several levels ("home/evcc"): they make the device, joined with "-".
        var at = Array.FindIndex(levels, 1, l => l is "site" or "loadpoints");
        if (at < 0)
        {
            return levels.Length >= 2 && levels[^1] == "status" ? Status(string.Join('-', levels[..^1]), text) : MqttContent.Nothing;
        }

        var root = string.Join('-', levels[..at]);
        if (levels[at] == "site" && levels.Length > at + 1)
        {
            return Site(root, string.Join('/', levels[(at + 1)..]), text, receivedAt);
        }

        if (levels[at] == "loadpoints" && levels.Length > at + 2)
        {
            if (!int.TryParse(levels[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index < 1)
            {
                return MqttContent.Nothing; // only evcc/loadpoints/<id>/… is a loadpoint's
            }

            var charger = addressing.Address(root, $"loadpoint-{index}");
            return Field(charger, DerType.V2xCharger, string.Join('/', levels[(at + 2)..]), text, receivedAt, Loadpoint);
        }

        return MqttContent.Nothing; // evcc/updated, evcc/vehicles/…, evcc/loadpoints (the count): nothing measured
    }

    private MqttContent Site(string root, string field, string text, long receivedAt) =>
        field switch
        {
            "pvPower" or "pvEnergy" => Field(addressing.Address(root, "pv"), DerType.Pv, field, text, receivedAt, Pv),
            "batteryPower" or "batterySoc" or "battery/power" or "battery/soc" =>
                Field(addressing.Address(root, "battery"), DerType.Battery, field, text, receivedAt, Battery),
            // The grid's fields, and the rest of the site (homePower, tariffs, green shares, …) which belongs to the
            // site as a whole: the grid meter, the DER that stands for the site's connection, carries it.
            _ => Field(addressing.Address(root, "grid"), DerType.Meter, field, text, receivedAt, Grid),
        };

    private static Measurement? Grid(string field, double value) => field switch
    {
        "gridPower" or "grid/power" => new(Quantity.ActivePower, value, Unit.Watt),
        "gridEnergy" or "grid/energy" => new(Quantity.EnergyImport, value, Unit.KilowattHour),
        "grid/powers/1" => new(Quantity.ActivePowerL1, value, Unit.Watt),
        "grid/powers/2" => new(Quantity.ActivePowerL2, value, Unit.Watt),
        "grid/powers/3" => new(Quantity.ActivePowerL3, value, Unit.Watt),
        "grid/currents/1" => new(Quantity.CurrentL1, value, Unit.Ampere),
        "grid/currents/2" => new(Quantity.CurrentL2, value, Unit.Ampere),
        "grid/currents/3" => new(Quantity.CurrentL3, value, Unit.Ampere),
        _ => null,
    };

    // evcc's pvPower is production ≥ 0; the hub's PV power is − generation.
    private static Measurement? Pv(string field, double value) => field switch
    {
        "pvPower" => new(Quantity.ActivePower, -value, Unit.Watt),
        "pvEnergy" => new(Quantity.EnergyGenerated, value, Unit.KilowattHour),
        _ => null,
    };

    // evcc's battery power is + discharging; the hub's is + charging.
    private static Measurement? Battery(string field, double value) => field switch
    {
        "batteryPower" or "battery/power" => new(Quantity.ActivePower, -value, Unit.Watt),
        "batterySoc" or "battery/soc" => new(Quantity.StateOfCharge, value, Unit.Percent),
        _ => null,
    };

    // Units as evcc publishes them: chargeTotalImport is the charge meter's register in kWh, chargedEnergy the
    // session's in Wh.
    private static Measurement? Loadpoint(string field, double value) => field switch
    {
        "chargePower" => new(Quantity.ActivePower, value, Unit.Watt),
        "chargeTotalImport" => new(Quantity.EnergyCharged, value, Unit.KilowattHour),
        "chargedEnergy" => new(Quantity.SessionEnergyCharged, value, Unit.WattHour),
        "vehicleSoc" => new(Quantity.VehicleStateOfCharge, value, Unit.Percent),
        "chargeCurrents/1" => new(Quantity.CurrentL1, value, Unit.Ampere),
        "chargeCurrents/2" => new(Quantity.CurrentL2, value, Unit.Ampere),
        "chargeCurrents/3" => new(Quantity.CurrentL3, value, Unit.Ampere),
        "chargeVoltages/1" => new(Quantity.VoltageL1, value, Unit.Volt),
        "chargeVoltages/2" => new(Quantity.VoltageL2, value, Unit.Volt),
        "chargeVoltages/3" => new(Quantity.VoltageL3, value, Unit.Volt),
        _ => null,
    };

    private MqttContent Field(DerAddress der, DerType type, string field, string text, long receivedAt, Func<string, double, Measurement?> map)
    {
        // A field the model measures needs a number, any other is an extra: the mapping (asked with a placeholder
        // value) tells which.
        var measured = map(field, 0) is { } probe ? probe.Quantity : (Quantity?)null;
        lock (_gate)
        {
            if (!_ders.TryGetValue(der, out var state))
            {
                state = new TopicValuesDer(der, type);
                _ders[der] = state;
            }

            if (measured is not { } quantity)
            {
                state.Keep(field, text);

                return MqttContent.Nothing;
            }

            if (text.Length == 0)
            {
                state.Measurements.Remove(quantity); // evcc publishes an empty value for one it no longer has (no vehicle)
                return MqttContent.Nothing;
            }

            var value = PlainNumber.Parse(text, $"evcc's '{field}'");

            state.Measurements[quantity] = map(field, value)!.Value;

            var reading = state.Reading(receivedAt, FormatName);
            return MqttContent.Of(new MqttReading(reading, null)); // evcc's values carry no time of their own
        }
    }

    // evcc's last will: every DER read from this evcc so far goes offline or online with it.
    private MqttContent Status(string root, string text)
    {
        var online = text switch
        {
            "online" => true,
            "offline" => false,
            _ => throw new TelemetryFormatException($"evcc's status must be online or offline, not '{Excerpt.Of(text, 20)}'"),
        };
        var device = addressing.Address(root).Device;
        lock (_gate)
        {
            var ders = _ders.Where(d => d.Key.Device == device).Select(d => (d.Key, d.Value.Type)).ToArray();
            return ders.Length == 0 ? MqttContent.Nothing : MqttContent.Of(new MqttAvailability(ders, online));
        }
    }
}
