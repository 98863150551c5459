using System.Buffers;
using System.Text.Json;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Mqtt.Publishing;

/// <summary>
/// One Home Assistant sensor of a DER or a site: which member of the state JSON it shows and how Home Assistant should
/// read it. <paramref name="Key"/> is the Novacore reading key the sensor needs (a DER's sensor is announced once a
/// reading carries it); <paramref name="Scale"/> multiplies the value (Wh → kWh, a fraction → %).
/// </summary>
internal sealed record HomeAssistantSensor(string Key, string Suffix, string Name, string? DeviceClass, string StateClass, string Unit, double Scale = 1, int? Precision = null);

/// <summary>
/// Home Assistant's MQTT discovery for the hub's DERs and sites: retained <c>{discovery}/sensor/{unique_id}/config</c>
/// messages, one per sensor, whose <c>state_topic</c> is where the hub publishes the DER's readings (the Novacore reading
/// JSON, as the hub's other clients get it) and whose <c>value_template</c> picks the member. Every sensor of a DER
/// shares its <c>device</c> block, so Home Assistant shows one device per DER; every sensor names the hub's
/// availability topic, so they all turn unavailable when the hub stops. Keys as documented for MQTT sensors and
/// discovery (home-assistant.io/integrations/sensor.mqtt, …/mqtt/#mqtt-discovery).
/// </summary>
internal sealed class HomeAssistantDiscovery(string prefix, string discoveryPrefix)
{
    public const string Online = "online";
    public const string Offline = "offline";

    private const string Measurement = "measurement";
    private const string TotalIncreasing = "total_increasing";

    private static readonly HomeAssistantSensor[] Phases =
    [
        new("L1_V", "voltage_l1", "Voltage L1", "voltage", Measurement, "V"),
        new("L2_V", "voltage_l2", "Voltage L2", "voltage", Measurement, "V"),
        new("L3_V", "voltage_l3", "Voltage L3", "voltage", Measurement, "V"),
        new("L1_A", "current_l1", "Current L1", "current", Measurement, "A"),
        new("L2_A", "current_l2", "Current L2", "current", Measurement, "A"),
        new("L3_A", "current_l3", "Current L3", "current", Measurement, "A"),
    ];

    // Energy in kWh (what the Energy dashboard expects of a grid, solar or battery meter), from the reading's Wh.
    private static HomeAssistantSensor Energy(string key, string suffix, string name) =>
        new(key, suffix, name, "energy", TotalIncreasing, "kWh", 0.001, 3);

    private static HomeAssistantSensor Power(string name) => new("W", "power", name, "power", Measurement, "W");

    private static HomeAssistantSensor Soc(string key, string suffix, string name) => new(key, suffix, name, "battery", Measurement, "%", 100, 1);

    /// <summary>Per DER type, the sensors it may have; a DER gets those its readings carry.</summary>
    internal static IReadOnlyList<HomeAssistantSensor> SensorsOf(DerType type) => type switch
    {
        DerType.Meter =>
        [
            Power("Power"), Energy("total_import_Wh", "energy_in", "Energy imported"), Energy("total_export_Wh", "energy_out", "Energy exported"), .. Phases,
        ],
        DerType.Pv => [Power("Power"), Energy("total_generation_Wh", "energy_out", "Energy generated")],
        DerType.Battery =>
        [
            Power("Power"), Energy("total_charge_Wh", "energy_in", "Energy charged"), Energy("total_discharge_Wh", "energy_out", "Energy discharged"),
            Soc("SoC_nom_fract", "soc", "State of charge"),
            new("V", "voltage", "DC voltage", "voltage", Measurement, "V"), new("A", "current", "DC current", "current", Measurement, "A"),
        ],
        DerType.V2xCharger =>
        [
            Power("Charging power"), Energy("total_charge_Wh", "energy_in", "Energy charged"), Energy("total_discharge_Wh", "energy_out", "Energy discharged"),
            Soc("vehicle_soc_fract", "vehicle_soc", "Vehicle state of charge"),
            new("V", "voltage", "Voltage", "voltage", Measurement, "V"), new("A", "current", "Current", "current", Measurement, "A"), .. Phases,
        ],
        _ => [],
    };

    /// <summary>A site's sensor: today's self-sufficiency, from the site's summary (<c>today.selfSufficiency</c>, a fraction).</summary>
    internal static HomeAssistantSensor SelfSufficiency { get; } = new("today.selfSufficiency", "self_sufficiency_today", "Self-sufficiency today", null, Measurement, "%", 100, 1);

    private static readonly Dictionary<DerType, IReadOnlyList<HomeAssistantSensor>> ByType =
        Enum.GetValues<DerType>().ToDictionary(t => t, SensorsOf);

    /// <summary>The hub's availability topic: <c>online</c> (retained) while it runs, its last will <c>offline</c>.</summary>
    public string StatusTopic { get; } = $"{prefix}/status";

    public string StateTopic(DerAddress der) => $"{prefix}/{der.Org}/{der.Site}/{der.Der}/state";

    public string SummaryTopic(string org, string site) => $"{prefix}/{org}/{site}/summary";

    /// <summary>Which of its type's sensors <paramref name="reading"/> carries, one bit per sensor.</summary>
    public static int SensorsCarried(Reading reading)
    {
        var sensors = ByType[reading.Type];
        var carried = 0;
        for (var i = 0; i < sensors.Count; i++)
        {
            if (NovacoreReading.TryGetField(reading, sensors[i].Key, out _))
            {
                carried |= 1 << i;
            }
        }

        return carried;
    }

    /// <summary>The discovery messages (topic, retained payload) of the sensors in <paramref name="sensors"/> (bits of <see cref="SensorsCarried"/>).</summary>
    public IEnumerable<(string Topic, byte[] Payload)> DerConfigs(DerAddress der, DerType type, int sensors)
    {
        var all = ByType[type];
        var device = DerDevice(der, type);
        var stateTopic = StateTopic(der);
        for (var i = 0; i < all.Count; i++)
        {
            if ((sensors & (1 << i)) != 0)
            {
                var id = UniqueId($"{der.Org}_{der.Site}_{der.Device}_{der.Der}_{all[i].Suffix}");
                yield return (ConfigTopic(id), Config(id, all[i], stateTopic, device));
            }
        }
    }

    /// <summary>The discovery message of a site's self-sufficiency sensor.</summary>
    public (string Topic, byte[] Payload) SiteConfig(string org, string site)
    {
        var id = UniqueId($"{org}_{site}_{SelfSufficiency.Suffix}");
        var device = new DeviceBlock(UniqueId($"{org}_{site}"), $"{site} ({org})", "site");
        return (ConfigTopic(id), Config(id, SelfSufficiency, SummaryTopic(org, site), device));
    }

    private string ConfigTopic(string uniqueId) => $"{discoveryPrefix}/sensor/{uniqueId}/config";

    // Ids are letters, digits, '-', '_' and ':'; Home Assistant's ids and topic levels take the first four.
    private static string UniqueId(string id) => "wattstream_" + id.Replace(':', '_');

    private static DeviceBlock DerDevice(DerAddress der, DerType type) =>
        new(UniqueId($"{der.Org}_{der.Site}_{der.Device}_{der.Der}"), $"{der.Der} ({der.Site})", type switch
        {
            DerType.Meter => "meter",
            DerType.Pv => "PV inverter",
            DerType.Battery => "battery",
            DerType.V2xCharger => "EV charger",
            _ => type.ToWireName(),
        });

    private sealed record DeviceBlock(string Identifier, string Name, string Model);

    private byte[] Config(string uniqueId, HomeAssistantSensor sensor, string stateTopic, DeviceBlock device)
    {
        var buffer = new ArrayBufferWriter<byte>(768);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("name", sensor.Name);
            w.WriteString("unique_id", uniqueId);
            w.WriteString("state_topic", stateTopic);
            w.WriteString("value_template", ValueTemplate(sensor));
            if (sensor.DeviceClass is { } deviceClass)
            {
                w.WriteString("device_class", deviceClass);
            }

            w.WriteString("state_class", sensor.StateClass);
            w.WriteString("unit_of_measurement", sensor.Unit);
            if (sensor.Precision is { } precision)
            {
                w.WriteNumber("suggested_display_precision", precision);
            }

            w.WriteString("availability_topic", StatusTopic);
            w.WriteString("payload_available", Online);
            w.WriteString("payload_not_available", Offline);
            w.WriteStartObject("device");
            w.WriteStartArray("identifiers");
            w.WriteStringValue(device.Identifier);
            w.WriteEndArray();
            w.WriteString("name", device.Name);
            w.WriteString("manufacturer", "Wattstream");
            w.WriteString("model", device.Model);
            w.WriteEndObject();
            w.WriteStartObject("origin");
            w.WriteString("name", "Wattstream");
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // The member, scaled; "None" (which Home Assistant's MQTT sensor reads as unknown) when a message lacks it, rather
    // than a template error.
    internal static string ValueTemplate(HomeAssistantSensor sensor)
    {
        var member = $"value_json.{sensor.Key}";
        var present = sensor.Key.Contains('.', StringComparison.Ordinal)
            ? $"value_json.{sensor.Key[..sensor.Key.IndexOf('.', StringComparison.Ordinal)]} and {member} is not none"
            : $"{member} is defined and {member} is not none";
        var value = sensor.Scale == 1
            ? member
            : $"({member} * {sensor.Scale.ToString(System.Globalization.CultureInfo.InvariantCulture)}) | round({sensor.Precision ?? 3})";
        return $"{{{{ {value} if {present} else None }}}}";
    }
}
