namespace Wattstream.Emulators.Mqtt;

/// <summary>One message a device publishes.</summary>
public readonly record struct MqttDeviceMessage(string Topic, byte[] Payload, bool Retain = false);

/// <summary>
/// What one emulated MQTT device says: its client id and last will, what it publishes when it (re)connects, and what it
/// publishes each interval. Payloads only: <see cref="MqttDeviceEmulator"/> connects and publishes.
/// </summary>
public interface IEmulatedMqttDevice
{
    /// <summary>The device's name in its topics (Tasmota's %topic%, a Shelly's topic prefix).</summary>
    string Name { get; }

    string ClientId { get; }

    /// <summary>The availability topic: the retained online message at connect, the broker's last will when the connection is lost.</summary>
    string AvailabilityTopic { get; }

    byte[] OnlinePayload { get; }

    byte[] OfflinePayload { get; }

    /// <summary>What the device publishes after connecting, besides its online message (Tasmota's STATE).</summary>
    IReadOnlyList<MqttDeviceMessage> Connected(DateTimeOffset now);

    /// <summary>The meter measures at <paramref name="now"/>; the messages that report it.</summary>
    IReadOnlyList<MqttDeviceMessage> Report(DateTimeOffset now);
}
