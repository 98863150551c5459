namespace Wattstream.Emulators.Mqtt;

/// <summary>The MQTT device families the emulator can be.</summary>
public enum MqttDeviceFamily
{
    /// <summary>Tasmota on a three-phase energy monitor: <c>tele/&lt;topic&gt;/SENSOR</c>, <c>STATE</c> and <c>LWT</c>.</summary>
    Tasmota,

    /// <summary>A Shelly Pro 3EM (second generation): <c>&lt;prefix&gt;/status/em:0</c>, <c>status/emdata:0</c> and <c>online</c>.</summary>
    Shelly,
}

public sealed class MqttEmulatorOptions
{
    /// <summary>The broker: <c>mqtt://host:port</c> (1883 when the port is left out) or <c>mqtts://</c> (8883, TLS).</summary>
    public Uri Broker { get; set; } = new("mqtt://127.0.0.1:1883");

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>How many devices, each with a connection, a last will and a meter of its own.</summary>
    public int Devices { get; set; } = 1;

    /// <summary>How often each device reports (Tasmota's TelePeriod, which it allows down to 10 s; shorter here for load).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>0 (at most once) or 1 (at least once) for the readings; the last will and online messages are QoS 1.</summary>
    public int Qos { get; set; }

    /// <summary>
    /// What the devices' names begin with: Tasmota's topic <c>&lt;prefix&gt;_XXXXXX</c> (default <c>tasmota</c>), a
    /// Shelly's topic prefix <c>&lt;prefix&gt;-XXXXXXXXXXXX</c> (default <c>shellypro3em</c>), the X the device's
    /// made-up MAC address.
    /// </summary>
    public string? TopicPrefix { get; set; }

    public int? Seed { get; set; }

    /// <summary>Where the devices' clocks are (Tasmota writes local time without an offset); null for the machine's.</summary>
    public TimeZoneInfo? TimeZone { get; set; }

    /// <summary>The checks a command line or a caller needs: the messages name the setting.</summary>
    public IEnumerable<string> Errors()
    {
        if (!Broker.IsAbsoluteUri || Broker.Scheme is not ("mqtt" or "mqtts") || string.IsNullOrEmpty(Broker.Host))
        {
            yield return $"--broker must be an mqtt:// or mqtts:// URL with a host, not '{Broker.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped)}'.";
        }

        if (Devices is < 1 or > 10_000)
        {
            yield return "--devices must be between 1 and 10000.";
        }

        if (Interval < TimeSpan.FromMilliseconds(1) || Interval > TimeSpan.FromHours(1))
        {
            yield return "--interval must be between 1ms and 1h.";
        }

        if (Qos is not (0 or 1))
        {
            yield return "--qos must be 0 or 1.";
        }

        if (TopicPrefix is { } prefix && (prefix.Length is 0 or > 40 || !prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            yield return "--topic-prefix must be 1 to 40 characters from A-Z, a-z, 0-9, '-' and '_' (it names devices in topics).";
        }

        if (Password is not null && Username is null)
        {
            yield return "--password needs --username.";
        }
    }
}
