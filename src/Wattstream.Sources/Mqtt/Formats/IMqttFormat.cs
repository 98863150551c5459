using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// One device family's MQTT topics and payloads, mapped to the telemetry model. A format reads; the source connects,
/// subscribes, decides which readings are new, keeps statuses, and publishes what the format asks for (a device that
/// talks only when asked, such as Victron's Venus OS and its keepalive).
/// </summary>
public interface IMqttFormat
{
    /// <summary>The setting's value (<c>Format=tasmota</c>).</summary>
    string Name { get; }

    /// <summary>The topic filters subscribed to when <c>Topics</c> is not set.</summary>
    IReadOnlyList<string> DefaultTopics { get; }

    /// <summary>What one message says: readings, a device's availability, or nothing this format uses.</summary>
    /// <param name="receivedAt">When the hub received it (Unix ms): the readings' time unless the source chooses the device's.</param>
    /// <exception cref="TelemetryFormatException">The payload does not fit the topic (counted and skipped by the source).</exception>
    MqttContent Read(string topic, ReadOnlySpan<byte> payload, long receivedAt);

    /// <summary>
    /// The messages to publish now. The source asks once right after each (re)connection, with
    /// <paramref name="connected"/> true, and then about every second while connected: the format keeps its own clock
    /// of what is due (most formats publish nothing).
    /// </summary>
    IReadOnlyList<MqttRequest> Requests(DateTimeOffset now, bool connected) => [];
}

/// <summary>A message a format asks the source to publish (QoS 0, not retained).</summary>
public sealed record MqttRequest(string Topic, byte[] Payload);

/// <summary>A reading and, when the payload carried one, the device's own time of it (Unix ms).</summary>
public readonly record struct MqttReading(Reading Reading, long? DeviceTime);

/// <summary>A device said it is online or offline (its last will): the DERs it stands for.</summary>
public sealed record MqttAvailability(IReadOnlyList<(DerAddress Der, DerType Type)> Ders, bool Online);

/// <summary>What one message said.</summary>
public sealed record MqttContent(IReadOnlyList<MqttReading> Readings, MqttAvailability? Availability)
{
    /// <summary>A message the format knows but that holds nothing to publish (a Tasmota SENSOR without ENERGY).</summary>
    public static MqttContent Nothing { get; } = new([], null);

    public static MqttContent Of(MqttReading reading) => new([reading], null);

    public static MqttContent Of(MqttAvailability availability) => new([], availability);
}

/// <summary>Where a device's readings go: org and site from the settings, device and DER from the settings or the topic.</summary>
public sealed class MqttAddressing(SourceOptions options)
{
    /// <summary>The source's settings, for a format with settings of its own (json's <c>Mappings</c>, victron's <c>PortalId</c>).</summary>
    public SourceOptions Options { get; } = options;

    public TimeZoneInfo TimeZone { get; } = string.IsNullOrEmpty(options?.TimeZone) ? TimeZoneInfo.Local : TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone);

    /// <summary>
    /// The DER of a device named in a topic: device = <c>Device</c> or the topic's device; DER = <c>Der</c> or the
    /// topic's device, with <paramref name="part"/> appended ("-" + part) when the device has several (a Shelly's switch:1).
    /// </summary>
    /// <exception cref="TelemetryFormatException">The topic's device name is not a valid id.</exception>
    public DerAddress Address(string topicDevice, string? part = null)
    {
        var device = string.IsNullOrEmpty(Options.Device) ? topicDevice : Options.Device;
        var der = string.IsNullOrEmpty(Options.Der) ? topicDevice : Options.Der;
        if (part is not null)
        {
            der = $"{der}-{part}";
        }

        return DerAddress.TryCreate(Options.Org, Options.Site, device, der, out var address)
            ? address!
            : throw new TelemetryFormatException($"'{Excerpt.Of(topicDevice, 64)}' from the topic does not make a device id ({Subjects.TokenRule}); set Device and Der");
    }
}
